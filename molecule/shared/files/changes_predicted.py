#!/usr/bin/env python3
"""Compare two host states written by host_state.py; check the check-mode run's predictions.

same BEFORE AFTER
    every line identical (check mode changed no file's content, owner or mode, no engine, container,
    loaded audit rule or unit); the differences are printed otherwise, exit 1.
predicted BEFORE AFTER RESULTS [--allow GLOB]...
    every file the real run changed between BEFORE and AFTER (content, owner, mode, created,
    removed) is named by a result that the check-mode run reported as changed (RESULTS: the
    role-results.jsonl of molecule/shared/callback_plugins/bulkhead_changes.py), and so is every
    daemon restarted or unit enabled/started; --allow names what a service writes by itself.
    Printed as JSON; on failure its "failed because" says why (exit 1).
canary RESULTS WORD...
    no result of the roles' tasks (as printed at -vvv, with its diff) holds WORD.

An input that cannot be read (a state the scenario did not record, no results file) is printed as
the reason, exit 2: a comparison never fails without saying why.
"""

import argparse
import fnmatch
import json
import re
import sys


def read_state(path):
    state = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            kind, _, rest = line.rstrip("\n").partition("\t")
            key, _, value = rest.partition("\t")
            state[(kind, key)] = value
    return state


def differences(before, after):
    return sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))


def read_results(path):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


# Fewer items than this in a state means host_state.py did not record the host.
MIN_ITEMS = 50


def same(args):
    before, after = read_state(args.before), read_state(args.after)
    changed = differences(before, after)
    for key in changed:
        print(f"{' '.join(key)}: {before.get(key, '(absent)')} -> {after.get(key, '(absent)')}")
    if len(before) < MIN_ITEMS:
        print(f"{args.before} holds {len(before)} items, fewer than {MIN_ITEMS}: the host's state was not recorded")
    print(f"{len(before)} items compared, {len(changed)} differ")
    return 1 if changed or len(before) < MIN_ITEMS else 0


def token(kind, key):
    """What a check-mode result must name for a change of this engine or unit line."""
    if key.startswith("pid "):
        return key.split()[1].removesuffix("d") if key.endswith("dockerd") else key.split()[1]
    if kind == "unit":
        return key.split(" ", 1)[1]
    return key.rsplit(" ", 1)[-1].lstrip("/")


# What a module writes beside a file it changes: its backup (X.<time>.bak, X.<n>.<time>~) and its lock (.X.lock).
COMPANIONS = (re.compile(r"^(?P<file>.+)\.\d{8}T\d{6}\.bak$"), re.compile(r"^(?P<file>.+)\.\d+\.[\d@:-]+~$"))


ACCOUNT_FILES = ("/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow")


def companion_of(path):
    for pattern in COMPANIONS:
        match = pattern.match(path)
        if match:
            return match.group("file")
    directory, _, name = path.rpartition("/")
    if name.startswith(".") and name.endswith(".lock"):
        return f"{directory}/{name[1:-5]}"
    return None


def unit_link(value):
    """The unit a systemd symlink (an enablement under *.wants/, an alias) points to, or None."""
    fields = value.split()
    if len(fields) == 4 and fields[2] == "link" and "/systemd/" in fields[3]:
        return fields[3].rsplit("/", 1)[-1]
    return None


def named(kind, key, text):
    """Does a check-mode result name this change (a file by its path or a child's, else its token)?

    A backup or lock file counts when the file it belongs to is named."""
    if kind == "file":
        companion = companion_of(key)
        if companion and companion != key:
            return named(kind, companion, text)
        if f'"{key}"' in text or f"{key}/" in text or f" {key}\n" in text:
            return True
        # A directory copy names its destination with a trailing slash: what lands below it is its.
        parts = key.split("/")
        return any(f'"{"/".join(parts[:depth])}/"' in text for depth in range(3, len(parts)))
    return token(kind, key) in text


def predicted(args):
    before, after = read_state(args.before), read_state(args.after)
    results = read_results(args.results)
    check_changed = [result for result in results if result["check"] and result["changed"]]
    real_changed = [result for result in results if not result["check"] and result["changed"]]
    text = "\n".join(result["result"] + result["diff"] for result in check_changed)
    # The user and group modules name the account, not the files: those changes are theirs.
    accounts = any(result["action"].rsplit(".", 1)[-1] in ("user", "group") for result in check_changed)
    unpredicted, allowed, proven = [], [], []
    for kind, key in differences(before, after):
        old, new = before.get((kind, key), "(absent)"), after.get((kind, key), "(absent)")
        change = f"{kind} {key}: {old[:60]} -> {new[:60]}"
        if any(fnmatch.fnmatch(key, pattern) for pattern in args.allow):
            allowed.append(change)
        elif named(kind, key, text) or (accounts and kind == "file" and key in ACCOUNT_FILES):
            proven.append(change)
        elif kind == "file" and (unit := unit_link(new)) and (unit in text or f'"{unit.rsplit(".", 1)[0]}"' in text):
            proven.append(change)  # systemctl enable's symlink for a unit the check run enables
        else:
            unpredicted.append(change)
    why = []
    if unpredicted:
        why.append(f"{len(unpredicted)} change(s) of the real run were not listed by the check run (below)")
    if not check_changed:
        checked = sum(1 for result in results if result["check"])
        why.append(
            f"the check run reported no changed result ({checked} check-mode results in {args.results}):"
            " did check_mode.yml run the roles in check mode on the unhardened host, before converge?"
        )
    if not proven:
        why.append(
            f"no change of the real run was predicted ({len(unpredicted)} unlisted, {len(allowed)} allowed,"
            f" {len(real_changed)} real results changed): {args.before} and {args.after} show no change of the roles"
        )
    print(
        json.dumps(
            {
                "check-mode results that changed": len(check_changed),
                "real results that changed": len(real_changed),
                "changes predicted by the check run": proven,
                "changes allowed (a service writes them)": allowed,
                "changes the check run did not list": unpredicted,
                "failed because": why,
            },
            indent=2,
        )
    )
    return 1 if why else 0


def canary(args):
    leaks = [
        f"{result['role']} | {result['task']} (check={result['check']})"
        for result in read_results(args.results)
        for word in args.words
        if word in result["result"] or word in result["diff"]
    ]
    print("\n".join(leaks) or "no canary in any result")
    return 1 if leaks else 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("same")
    command.add_argument("before")
    command.add_argument("after")
    command.set_defaults(run=same)
    command = commands.add_parser("predicted")
    command.add_argument("before")
    command.add_argument("after")
    command.add_argument("results")
    command.add_argument("--allow", action="append", default=[])
    command.set_defaults(run=predicted)
    command = commands.add_parser("canary")
    command.add_argument("results")
    command.add_argument("words", nargs="+")
    command.set_defaults(run=canary)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (OSError, ValueError, KeyError) as error:
        # A missing state or results file, or a malformed line: say which, never fail silently.
        print(f"{args.command}: cannot read the input: {type(error).__name__}: {error}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
