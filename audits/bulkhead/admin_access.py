"""``bulkhead admin-access``: who ran which container administration command, and when.

Reads the audit log through ``ausearch --format raw`` for the keys the container_host role's rules
set (client runs, Docker socket connects, docker group and sudoers changes), groups the records of
each event, and prints one line per event: time, the login user (auid, which ``su`` and ``sudo``
do not change), the user it ran as, and the command line with every secret masked (values of
-e/--env and --build-arg, passwords, tokens, credentials in URLs).
"""

from __future__ import annotations

import argparse
import datetime
import json
import pwd
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

KEYS = {
    "bulkhead_container_client": "client",
    "bulkhead_docker_socket": "socket",
    "bulkhead_docker_group": "group",
    "bulkhead_sudoers": "sudoers",
}
MASK = "***"
UNSET_AUID = 4294967295

_RECORD = re.compile(r"^type=(\S+) msg=audit\((\d+)\.(\d+):(\d+)\):\s?(.*)$")
_FIELD = re.compile(r'(\w+(?:\[\d+\])?)=("[^"]*"|\S+)')
_HEX = re.compile(r"^(?:[0-9A-F]{2})+$")
_SECRET_NAME = re.compile(r"pass|secret|token|key|auth|cred|pwd|api", re.IGNORECASE)
_VALUE_FLAGS = {"-e", "--env", "--build-arg", "--label", "-l"}
_SECRET_FLAGS = {"--password", "--creds", "--token", "--registry-token", "--identity-token"}
_TOKEN = re.compile(
    r"^(eyJ[\w-]+\.[\w-]+\.[\w-]*|gh[pousr]_\w{20,}|github_pat_\w{20,}|glpat-[\w-]{20,}|xox[abprs]-[\w-]+"
    r"|AKIA[0-9A-Z]{16}|sk-[\w-]{20,}|dckr_pat_[\w-]+)$"
)
_URL_CREDENTIALS = re.compile(r"(\w+://[^/:@\s]+:)[^@\s]+@")


class AuditLogError(RuntimeError):
    """ausearch is missing or failed."""


@dataclass
class AdminEvent:
    time: str
    serial: int
    kind: str
    login_user: str
    run_as: str
    command: str
    executable: str
    success: bool | None
    keys: list[str] = field(default_factory=list)


def mask_argv(argv: Sequence[str]) -> list[str]:
    """The command line with secret values replaced by ***; the structure stays readable."""
    masked: list[str] = []
    pending: str | None = None  # "value" (KEY=VALUE follows) or "all" (the whole next word)
    is_login = len(argv) > 1 and "login" in argv[1:3]
    for word in argv:
        if pending == "all":
            masked.append(_mask_user_password(word) if ":" in word else MASK)
            pending = None
            continue
        if pending == "value":
            masked.append(_mask_assignment(word, always=True))
            pending = None
            continue
        flag, equals, value = word.partition("=")
        if word.startswith("-") and equals and flag in _VALUE_FLAGS:
            masked.append(f"{flag}={_mask_assignment(value, always=True)}")
        elif word.startswith("-") and equals and (flag in _SECRET_FLAGS or _SECRET_NAME.search(flag)):
            masked.append(f"{flag}={MASK}")
        elif word in _VALUE_FLAGS:
            masked.append(word)
            pending = "value"
        elif _takes_secret(word, is_login):
            masked.append(word)
            pending = "all"
        elif re.match(r"^-e[A-Za-z_]", word):
            masked.append("-e" + _mask_assignment(word[2:], always=True))
        else:
            masked.append(_mask_word(word))
    return masked


def _takes_secret(word: str, is_login: bool) -> bool:
    """A flag whose next word is a secret: --password, docker login -p, --api-key ..."""
    if word in _SECRET_FLAGS or (is_login and word == "-p"):
        return True
    return word.startswith("--") and "=" not in word and _SECRET_NAME.search(word) is not None


def _mask_assignment(word: str, always: bool) -> str:
    name, equals, value = word.partition("=")
    if not equals:
        return word  # -e NAME passes the caller's variable through: no value on the command line
    if always or _SECRET_NAME.search(name):
        return f"{name}={MASK}" if value else word
    return f"{name}={_mask_word(value)}"


def _mask_user_password(word: str) -> str:
    user, _, _secret = word.partition(":")
    return f"{user}:{MASK}"


def _mask_word(word: str) -> str:
    word = _URL_CREDENTIALS.sub(lambda match: f"{match.group(1)}{MASK}@", word)
    if _TOKEN.match(word) or _looks_random(word):
        return MASK
    name, equals, _value = word.partition("=")
    if equals and not name.startswith("-") and _SECRET_NAME.search(name):
        return f"{name}={MASK}"
    return word


def _looks_random(word: str) -> bool:
    """Long strings of mixed-case letters and digits (API keys); hex IDs and digests stay."""
    return (
        len(word) >= 24
        and re.fullmatch(r"[A-Za-z0-9+/_=-]+", word) is not None
        and re.search(r"[a-z]", word) is not None
        and re.search(r"[A-Z]", word) is not None
        and re.search(r"[0-9]", word) is not None
    )


def _decode(value: str) -> str:
    if value.startswith('"') and value.endswith('"'):
        return value[1:-1]
    if _HEX.match(value):
        return bytes.fromhex(value).decode("utf-8", "replace")
    return value


def parse_raw(text: str) -> dict[int, dict[str, list[dict[str, str]]]]:
    """ausearch --format raw output -> {serial: {record type: [fields, ...]}} (with the time)."""
    events: dict[int, dict[str, list[dict[str, str]]]] = {}
    # Not splitlines(): it also splits at \x1d, which separates ENRICHED fields from raw ones.
    for line in text.split("\n"):
        match = _RECORD.match(line)
        if not match:
            continue
        kind, seconds, millis, serial_text, rest = match.groups()
        serial = int(serial_text)
        body, _, enriched = rest.partition("\x1d")
        fields = {name: value for name, value in _FIELD.findall(body)}
        for name, value in _FIELD.findall(enriched):
            fields[f"enriched:{name}"] = value.strip('"')
        fields["@time"] = f"{seconds}.{millis}"
        events.setdefault(serial, {}).setdefault(kind, []).append(fields)
    return events


def _execve_argv(record: dict[str, str]) -> list[str]:
    argc = int(record.get("argc", "0"))
    argv = []
    for index in range(argc):
        name = f"a{index}"
        if name in record:
            argv.append(_decode(record[name]))
            continue
        pieces = []
        part = 0
        while f"{name}[{part}]" in record:
            pieces.append(_decode(record[f"{name}[{part}]"]))
            part += 1
        argv.append("".join(pieces))
    return argv


def _user(uid_text: str | None, enriched: str | None) -> str:
    if enriched and enriched not in ("unset", "?"):
        return enriched
    if uid_text is None:
        return "?"
    uid = int(uid_text)
    if uid in (UNSET_AUID, -1):
        return "unset"
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _keys_of(syscall: dict[str, str]) -> list[str]:
    raw = syscall.get("key", "")
    if raw.startswith('"'):
        return [raw.strip('"')]
    if _HEX.match(raw):
        return bytes.fromhex(raw).decode("utf-8", "replace").split("\x01")
    return [] if raw in ("", "(null)") else [raw]


def build_events(raw: dict[int, dict[str, list[dict[str, str]]]]) -> list[AdminEvent]:
    found = []
    for serial, records in raw.items():
        syscall = (records.get("SYSCALL") or [None])[0]
        if syscall is None:
            continue
        keys = [key for key in _keys_of(syscall) if key in KEYS]
        if not keys:
            continue
        if "EXECVE" in records:
            argv = _execve_argv(records["EXECVE"][0])
        elif "PROCTITLE" in records:
            argv = _decode(records["PROCTITLE"][0].get("proctitle", "")).split("\x00")
        else:
            argv = [_decode(syscall.get("comm", "?"))]
        seconds = float(syscall["@time"])
        found.append(
            AdminEvent(
                time=datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4]
                + "Z",
                serial=serial,
                kind=",".join(KEYS[key] for key in keys),
                login_user=_user(syscall.get("auid"), syscall.get("enriched:AUID")),
                run_as=_user(syscall.get("uid"), syscall.get("enriched:UID")),
                command=" ".join(mask_argv([word for word in argv if word])),
                executable=_decode(syscall.get("exe", "?")),
                success={"yes": True, "no": False}.get(syscall.get("success", "")),
                keys=keys,
            )
        )
    return sorted(found, key=lambda event: (event.time, event.serial))


def search(keys: Iterable[str], input_file: str | None = None, start: str | None = None) -> str:
    """Raw ausearch output for the given keys (one ausearch run per key)."""
    ausearch = shutil.which("ausearch") or shutil.which("ausearch", path="/usr/sbin:/sbin")
    if ausearch is None:
        raise AuditLogError("ausearch is not installed (Debian: apt-get install auditd)")
    output = []
    for key in keys:
        argv = [ausearch, "--format", "raw", "-k", key]
        if input_file:
            argv += ["-if", input_file]
        if start:
            argv += ["-ts", start]
        completed = subprocess.run(argv, capture_output=True, text=True, check=False)
        if completed.returncode != 0 and "<no matches>" not in completed.stderr:
            raise AuditLogError(f"ausearch -k {key} failed: {completed.stderr.strip() or completed.returncode}")
        output.append(completed.stdout)
    return "\n".join(output)


_AUSEARCH_TIMES = {"now", "recent", "this-hour", "boot", "today", "yesterday", "this-week", "week-ago", "this-month"}


def report(events: list[AdminEvent]) -> str:
    if not events:
        return "no container administration recorded"
    from bulkhead.report.table import table

    rows = [
        [
            event.time,
            event.login_user,
            event.run_as,
            event.kind,
            {True: "yes", False: "no", None: "?"}[event.success],
            event.command,
        ]
        for event in events
    ]
    return "\n".join(table(["time (UTC)", "login user", "as", "what", "ok", "command"], rows, gap=" "))


def _run(args: argparse.Namespace) -> int:
    keys = [key for key, kind in KEYS.items() if not args.kind or kind in args.kind]
    start = args.since if args.since in _AUSEARCH_TIMES else None
    try:
        events = build_events(parse_raw(search(keys, args.input, start)))
    except AuditLogError as error:
        print(f"bulkhead admin-access: {error}", file=sys.stderr)
        return 2
    if args.since and start is None:
        try:
            threshold = float(args.since)
        except ValueError:
            print(
                f"bulkhead admin-access: --since {args.since!r}: "
                f"unix seconds or one of {', '.join(sorted(_AUSEARCH_TIMES))}",
                file=sys.stderr,
            )
            return 2
        cutoff = datetime.datetime.fromtimestamp(threshold, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"
        events = [event for event in events if event.time >= cutoff]
    if args.user:
        events = [event for event in events if event.login_user == args.user]
    if args.json:
        print(json.dumps([asdict(event) for event in events], indent=2))
    else:
        print(report(events))
    return 0


def register(commands: argparse._SubParsersAction) -> None:
    """Add ``admin-access`` to the ``bulkhead`` command."""
    parser = commands.add_parser(
        "admin-access",
        help="who ran which container administration command, from the audit log",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--since", help="unix seconds, or an ausearch keyword: recent, today, this-week, boot ...")
    parser.add_argument("--user", help="only events of this login user")
    parser.add_argument(
        "--kind", action="append", choices=sorted(set(KEYS.values())), help="only these kinds (repeatable)"
    )
    parser.add_argument("--input", help="read this audit log file instead of the system's")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(run=_run)
