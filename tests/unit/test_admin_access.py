"""bulkhead admin-access: masking of secrets and grouping of raw audit records into events."""

import pytest

from bulkhead.admin_access import build_events, mask_argv, parse_raw, report


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["docker", "ps", "-a"], "docker ps -a"),
        (["docker", "run", "-e", "DB_PASSWORD=hunter2", "app"], "docker run -e DB_PASSWORD=*** app"),
        (["docker", "run", "-e", "COLOR=blue", "app"], "docker run -e COLOR=*** app"),
        (["docker", "run", "-e", "HOME", "app"], "docker run -e HOME app"),
        (["docker", "run", "--env=TOKEN=abc", "app"], "docker run --env=TOKEN=*** app"),
        (["docker", "run", "--env", "A=b", "app"], "docker run --env A=*** app"),
        (["docker", "run", "-eA=b", "app"], "docker run -eA=*** app"),
        (["docker", "build", "--build-arg", "NPM_TOKEN=x", "."], "docker build --build-arg NPM_TOKEN=*** ."),
        (["docker", "login", "-u", "bob", "-p", "s3cret", "reg"], "docker login -u bob -p *** reg"),
        (["docker", "run", "-p", "8080:80", "app"], "docker run -p 8080:80 app"),
        (["docker", "login", "--password=s3cret", "reg"], "docker login --password=*** reg"),
        (["podman", "pull", "--creds", "bob:s3cret", "img"], "podman pull --creds bob:*** img"),
        (["tool", "--api-key", "abc", "x"], "tool --api-key *** x"),
        (["curl", "https://bob:s3cret@reg.example/v2/"], "curl https://bob:***@reg.example/v2/"),
        (["docker", "exec", "c", "env", "MYSQL_ROOT_PASSWORD=x"], "docker exec c env MYSQL_ROOT_PASSWORD=***"),
        (["echo", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"], "echo ***"),
        (["echo", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"], "echo ***"),
        (["echo", "Ab3dEf6hIj9kLm2nOp5qRs8t"], "echo ***"),
        (["docker", "rm", "4f3c2b1a" * 8], "docker rm " + "4f3c2b1a" * 8),
        (["docker", "pull", "img@sha256:" + "ab" * 32], "docker pull img@sha256:" + "ab" * 32),
    ],
)
def test_secrets_are_masked_and_the_rest_stays(argv, expected):
    assert " ".join(mask_argv(argv)) == expected


# auditd 3.0 ENRICHED raw records: a docker run by uid 59999 after `su -`, with a hex-encoded
# argument (it has a blank), and an event of another key that the report must ignore.
RAW = "\n".join(
    [
        "type=SYSCALL msg=audit(1764408000.123:501): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 "
        "items=2 ppid=10 pid=11 auid=59999 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=4 "
        'comm="docker" exe="/usr/bin/docker" subj=unconfined key="bulkhead_container_client"'
        '\x1dARCH=x86_64 SYSCALL=execve AUID="alice" UID="root" GID="root"',
        'type=EXECVE msg=audit(1764408000.123:501): argc=6 a0="docker" a1="run" a2="-e" '
        'a3=5345435245543D612062 a4="app" a5="true"',
        'type=CWD msg=audit(1764408000.123:501): cwd="/root"',
        "type=PROCTITLE msg=audit(1764408000.123:501): proctitle=646F636B6572",
        "type=SYSCALL msg=audit(1764408001.500:502): arch=c000003e syscall=42 success=yes exit=0 a0=3 a1=4 a2=5 a3=6 "
        "items=1 ppid=11 pid=12 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) "
        'ses=4294967295 comm="x" exe="/usr/bin/x" subj=unconfined key="someone_else"',
        "type=SYSCALL msg=audit(1764408002.000:503): arch=c000003e syscall=42 success=no exit=-13 a0=3 a1=4 a2=5 "
        "a3=6 items=1 ppid=11 pid=13 auid=59999 uid=59999 gid=59999 euid=59999 suid=59999 fsuid=59999 egid=59999 "
        'sgid=59999 fsgid=59999 tty=pts0 ses=4 comm="python3" exe="/usr/bin/python3.11" key="bulkhead_docker_socket"',
        "type=PROCTITLE msg=audit(1764408002.000:503): proctitle=707974686F6E33002D2D746F6B656E00616263",
    ]
)


def test_raw_records_become_one_event_per_serial_with_secrets_masked():
    events = build_events(parse_raw(RAW))
    assert [(e.serial, e.kind, e.login_user, e.run_as, e.success) for e in events] == [
        (501, "client", "alice", "root", True),
        (503, "socket", "uid 59999", "uid 59999", False),
    ]
    assert events[0].command == "docker run -e SECRET=*** app true"
    assert events[0].time == "2025-11-29T09:20:00.123Z"
    assert events[1].command == "python3 --token ***"
    assert "a b" not in report(events) and "abc" not in report(events)


def test_no_event_is_a_plain_sentence():
    assert report([]) == "no container administration recorded"
