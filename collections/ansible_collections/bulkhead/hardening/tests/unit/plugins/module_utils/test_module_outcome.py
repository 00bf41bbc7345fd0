"""module_outcome.finish: how every module turns a result or an error into exit_json/fail_json."""

import errno

import pytest
from ansible_collections.bulkhead.hardening.plugins.module_utils.module_outcome import finish


class Ended(Exception):
    pass


class FakeModule:
    def __init__(self, **params):
        self.params = params
        self.outcome = None

    def exit_json(self, **result):
        self.outcome = ("exit", result)
        raise Ended()

    def fail_json(self, **result):
        self.outcome = ("fail", result)
        raise Ended()


class DomainError(Exception):
    pass


def raising(error):
    def apply(module):
        raise error

    return apply


@pytest.mark.parametrize(
    ("apply", "kwargs", "expected"),
    [
        (lambda module: {"changed": True}, {}, ("exit", {"changed": True})),
        (raising(DomainError("bad key")), {}, ("fail", {"msg": "bad key"})),
        (
            raising(DomainError("2 conflicts", ["icc", "iptables"])),
            {"details_key": "conflicts"},
            ("fail", {"msg": "2 conflicts", "conflicts": ["icc", "iptables"]}),
        ),
        (raising(DomainError("no details asked", ["x"])), {}, ("fail", {"msg": "no details asked"})),
        (
            raising(OSError(errno.EACCES, "Permission denied")),
            {},
            ("fail", {"msg": "cannot update /etc/docker/daemon.json: [Errno 13] Permission denied"}),
        ),
        (
            raising(OSError(errno.ENOSPC, "No space left on device", "/etc/subuid")),
            {"subject": "the subordinate id files"},
            ("fail", {"msg": "cannot update /etc/subuid: [Errno 28] No space left on device: '/etc/subuid'"}),
        ),
        (
            raising(OSError(errno.EROFS, "Read-only file system")),
            {"subject": "the subordinate id files"},
            ("fail", {"msg": "cannot update the subordinate id files: [Errno 30] Read-only file system"}),
        ),
    ],
)
def test_finish(apply, kwargs, expected):
    module = FakeModule(path="/etc/docker/daemon.json")
    with pytest.raises(Ended):
        finish(module, apply, DomainError, **kwargs)
    assert module.outcome == expected


def test_an_unexpected_error_is_not_swallowed():
    with pytest.raises(KeyError):
        finish(FakeModule(path="/x"), raising(KeyError("bug")), DomainError)
