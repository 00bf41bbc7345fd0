"""docker_user_policy against the real iptables, in a private network namespace (``unshare -n``).

The machine's own chains are never touched: each case runs a small driver in a fresh namespace
that holds only a DOCKER-USER chain (with Docker's RETURN rule and another tool's rule). Only the
docker client is faked (two networks); iptables, iptables-restore and their canonical output are
real, so these cases prove that what the module writes reads back as in place, and that the
rollback restores the chain when applying fails. Needs root and unshare; skipped otherwise.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

COLLECTIONS = str(Path(__file__).resolve().parents[7])

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("iptables-restore"),
    reason="needs root, unshare and iptables",
)

DRIVER = textwrap.dedent(
    """
    import json, os, subprocess, sys
    sys.path.insert(0, COLLECTIONS)
    from ansible_collections.bulkhead.hardening.plugins.module_utils.docker_user_policy import PolicyError
    from ansible_collections.bulkhead.hardening.plugins.modules import docker_user_policy

    NETWORKS = {
        "shop": {"Name": "shop", "Id": "aaaaaaaaaaaa00", "Driver": "bridge", "Internal": False},
        "pay": {"Name": "pay", "Id": "bbbbbbbbbbbb00", "Driver": "bridge", "Internal": True},
    }

    def sh(*argv):
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    class Module:
        check_mode = False
        _diff = True

        def __init__(self, params, restore_bin):
            self.params = params
            self.restore_bin = restore_bin

        def get_bin_path(self, name, required=False):
            return self.restore_bin if name == "iptables-restore" else name

        def run_command(self, argv, data=None, **kwargs):
            if argv[0] == "docker" and argv[1:3] == ["network", "ls"]:
                return 0, "shop\\npay\\n", ""
            if argv[0] == "docker":
                return 0, json.dumps([NETWORKS[name] for name in argv[3:]]), ""
            done = subprocess.run(argv, input=data, capture_output=True)
            return done.returncode, done.stdout.decode(), done.stderr.decode()

    sh("iptables", "-N", "DOCKER-USER")
    sh("iptables", "-A", "DOCKER-USER", "-s", "203.0.113.7/32", "-m", "comment", "--comment", "operator-rule",
       "-j", "DROP")
    sh("iptables", "-A", "DOCKER-USER", "-j", "RETURN")
    case = json.loads(sys.argv[1])
    params = {
        "networks": ["shop", "pay"],
        "rules": [{"name": "web", "from": "shop", "to": "shop", "ports": [8080], "proto": "tcp"},
                  {"name": "api", "from": "shop", "to": "192.0.2.2", "ports": [443], "proto": "tcp"}],
        "default_deny_east_west": True, "default_deny_egress": True, "save_path": None, "docker": "docker",
    }
    out = {"before": sh("iptables", "-S", "DOCKER-USER")}
    try:
        out["first"] = docker_user_policy.apply(Module(params, case.get("restore", "iptables-restore")))
        out["second"] = docker_user_policy.apply(Module(params, "iptables-restore"))
    except PolicyError as error:
        out["error"] = str(error)
    out["after"] = sh("iptables", "-S", "DOCKER-USER")
    print(json.dumps(out))
    """
).replace("COLLECTIONS", repr(COLLECTIONS))


def run_case(tmp_path, case):
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    done = subprocess.run(
        ["unshare", "-n", sys.executable, str(driver), json.dumps(case)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wrapper(tmp_path, body):
    """An iptables-restore that hands --test and the rollback (it declares the chain) to the real one, and runs
    ``body`` (sh, the script in $script) for the apply."""
    path = tmp_path / "iptables-restore"
    path.write_text(
        "#!/bin/sh\n"
        'case " $* " in *" --test "*) exec iptables-restore "$@";; esac\n'
        "script=$(cat)\n"
        'if printf "%s\\n" "$script" | grep -q "^:DOCKER-USER"; then\n'
        '    printf "%s\\n" "$script" | iptables-restore "$@"; exit $?\n'
        "fi\n" + body
    )
    path.chmod(0o755)
    return str(path)


def test_applied_rules_read_back_in_place_and_foreign_rules_stay(tmp_path):
    out = run_case(tmp_path, {})
    assert "error" not in out, out
    assert out["first"]["changed"] and not out["second"]["changed"]
    after = out["after"].splitlines()
    assert after[1 : 1 + len(out["first"]["rules"])] == out["first"]["rules"]
    assert after[-2:] == ["-A DOCKER-USER -s 203.0.113.7/32 -m comment --comment operator-rule -j DROP",
                          "-A DOCKER-USER -j RETURN"]  # fmt: skip
    assert out["first"]["diff"][0]["after"] == "".join(line + "\n" for line in after[1:])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('echo "iptables-restore: line 3 failed" >&2; exit 1\n', "iptables-restore failed"),
        # Applies, then another rule of ours disappears (someone else's change): not as predicted.
        (
            'printf "%s\\n" "$script" | iptables-restore "$@" || exit 1\niptables -D DOCKER-USER 2\n',
            "the chain read back is not the predicted one",
        ),
    ],
    ids=["apply-fails", "readback-differs"],
)
def test_a_failed_apply_rolls_back_to_the_saved_chain(tmp_path, body, message):
    out = run_case(tmp_path, {"restore": wrapper(tmp_path, body)})
    assert message in out["error"] and "the chain saved before was restored" in out["error"]
    assert out["after"] == out["before"]
