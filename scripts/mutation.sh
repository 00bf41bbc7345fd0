#!/usr/bin/env bash
# `make mutation`: mutation testing (mutmut) of the check functions and the collection's
# module_utils against their unit tests. Not part of `make test`; the score goes in bench/RESULTS.md.
#
# mutmut names mutants after module paths under src/, so the code is staged in .mutation/ as
#   src/bulkhead/...                 (audits/bulkhead)
#   src/ansible_collections/...      (collections/ansible_collections)
#   tests/                           (as in the checkout; tests/unit runs)
#   tests/tree/ansible_collections/bulkhead/hardening/{tests,roles}
#                                    (the collection's unit tests and the role data they read, at
#                                     their usual depth; its plugins come from src/, the same
#                                     namespace package, so the tests exercise the mutated code)
# and mutmut runs there. `cd .mutation && mutmut results` / `mutmut show NAME` afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
stage=$root/.mutation
rm -rf "$stage"
mkdir -p "$stage/src" "$stage/tests"
cp -r audits/bulkhead "$stage/src/bulkhead"
cp -r collections/ansible_collections "$stage/src/ansible_collections"
cp -r tests/. "$stage/tests/"  # every test file the unit tests import or name; only tests/unit runs
collection=collections/ansible_collections/bulkhead/hardening
mkdir -p "$stage/tests/tree/ansible_collections/bulkhead/hardening"
cp -r "$collection/tests" "$collection/roles" "$stage/tests/tree/ansible_collections/bulkhead/hardening/"
# Some tests read repository files by path (the catalogue, roles, README, constraints, the
# execution environment...): every other tracked top-level entry is copied as it is.
mapfile -t others < <(git ls-files | cut -d/ -f1 | sort -u | grep -vx tests)
for item in "${others[@]}"; do cp -r "$item" "$stage/$item"; done
also_copy=$(printf '"%s", ' "${others[@]}")
find "$stage" -name __pycache__ -prune -exec rm -rf {} +

echo >>"$stage/pyproject.toml"
cat >>"$stage/pyproject.toml" <<TOML
[tool.mutmut]
source_paths = ["src"]
only_mutate = [
    "src/bulkhead/checks/*",
    "src/ansible_collections/bulkhead/hardening/plugins/module_utils/*",
]
also_copy = [${also_copy%, }]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q"]
pytest_add_cli_args_test_selection = ["tests/unit", "tests/tree/ansible_collections/bulkhead/hardening/tests/unit"]
TOML

cd "$stage"
# The checkout's own bulkhead and collection (ANSIBLE_CONFIG's collections_path) must not shadow
# the mutated copies.
unset ANSIBLE_CONFIG
PYTHONPATH= mutmut run "$@" || true
PYTHONPATH= mutmut results --all true >results.txt 2>&1 || true
python3 - <<'PY'
import collections, re
counts = collections.Counter()
for line in open("results.txt"):
    match = re.match(r"\s*(\S+): (\w[\w ]*)$", line)
    if match:
        counts[match.group(2)] += 1
total = sum(counts.values())
killed = counts["killed"]
print(f"mutants: {total}, " + ", ".join(f"{n} {k}" for k, n in counts.most_common()))
print(f"score: {killed / total:.1%} killed" if total else "no mutants")
PY
echo "survivors: cd .mutation && mutmut results; mutmut show NAME"
