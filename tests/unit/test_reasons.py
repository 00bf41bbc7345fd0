"""Error reasons are one short line that keeps the cause (reports of an unreachable host stay small)."""

import base64

from bulkhead.reasons import LIMIT, short_reason

BLOB = base64.b64encode(b"collector source " * 4000).decode()
SSH_FAILURE = (
    "cannot determine: cannot reach 127.0.0.1: CommandResult(backend=<testinfra.backend.ssh.SshBackend object at "
    f"0x7f>, exit_status=255, command=b'python3 -c \\'import base64;exec(compile(base64.b64decode(\\'{BLOB}\\')))\\'', "
    "_stdout=b'', _stderr=b'ssh: connect to host 127.0.0.1 port 1: Connection refused\\r\\n')"
)


def test_an_ssh_failure_becomes_its_exit_status_and_cause():
    assert short_reason(SSH_FAILURE) == (
        "cannot determine: cannot reach 127.0.0.1: exit status 255: ssh: connect to host 127.0.0.1 port 1: "
        "Connection refused"
    )


def test_a_long_multi_line_error_keeps_its_first_line_and_its_cause():
    text = "state collection on web-1 failed:\n" + "\n".join(f"  frame {n} {BLOB[:200]}" for n in range(500))
    text += "\nPermissionError: [Errno 13] Permission denied: '/var/run/docker.sock'"
    line = short_reason(text)
    assert len(line) <= LIMIT
    assert "\n" not in line
    assert line.startswith("state collection on web-1 failed:")
    assert line.endswith("PermissionError: [Errno 13] Permission denied: '/var/run/docker.sock'")


def test_one_long_line_keeps_both_ends():
    text = "cannot reach db-1: " + "x" * 5000 + " Connection timed out"
    line = short_reason(text)
    assert len(line) <= LIMIT
    assert line.startswith("cannot reach db-1: ")
    assert line.endswith("Connection timed out")


def test_a_short_reason_is_left_alone():
    assert short_reason("cannot determine: docker_info: permission denied") == (
        "cannot determine: docker_info: permission denied"
    )
    assert short_reason("") == ""


def test_long_paths_are_not_taken_for_blobs():
    path = "/var/lib/docker/overlay2/" + "/".join(["layer"] * 20) + "/diff/etc/shadow"
    assert short_reason(f"cannot read {path}: permission denied") == f"cannot read {path}: permission denied"
