#!/usr/bin/env bash
# The main job on a disposable target: start a container host with a Docker engine inside,
# audit it, harden it with playbooks/harden.yml, audit it again, harden again (nothing may
# change), compare, remove the target.
# Reports land in reports/. BULKHEAD_KEEP_TARGET=1 keeps the target for a look around.
set -euo pipefail
cd "$(dirname "$0")/.."

target=bulkhead-demo
reports=reports
mkdir -p "$reports"

cleanup() {
    if [ "${BULKHEAD_KEEP_TARGET:-0}" = 1 ]; then
        echo "==> keeping $target (docker rm -f -v $target removes it)"
    else
        docker rm -f -v "$target" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

echo "==> starting the disposable target $target"
bash scripts/start-target.sh "$target" >/dev/null
ansible-playbook -i inventories/local/hosts.yml playbooks/demo_target.yml >"$reports/demo-prepare.log" \
    || { cat "$reports/demo-prepare.log"; exit 1; }

audit() { # phase: writes reports/PHASE.{xml,json,html}; exit 1 (findings) and 2 (undetermined) are results
    local code=0
    bulkhead audit --hosts "docker://$target" --no-progress \
        --junit "$reports/$1.xml" --json "$reports/$1.json" --html "$reports/$1.html" \
        >"$reports/audit-$1.log" 2>&1 || code=$?
    if [ ! -s "$reports/$1.json" ]; then
        cat "$reports/audit-$1.log"
        echo "ERROR: the $1 audit did not run (exit $code)" >&2
        exit 2
    fi
    echo "    audit $1 hardening: exit $code (0 compliant, 1 findings, 2 some controls undetermined)"
}

echo "==> auditing before hardening"
audit before
echo "==> hardening with playbooks/harden.yml (log: $reports/harden.log)"
ansible-playbook -i inventories/local/hosts.yml playbooks/harden.yml >"$reports/harden.log" \
    || { tail -n 40 "$reports/harden.log"; exit 1; }
echo "==> auditing after hardening"
audit after
echo "==> hardening again: a second run must change nothing (log: $reports/harden-again.log)"
ansible-playbook -i inventories/local/hosts.yml playbooks/harden.yml >"$reports/harden-again.log" \
    || { tail -n 40 "$reports/harden-again.log"; exit 1; }
if grep -E '^[^ ]+ +: .*changed=[1-9]' "$reports/harden-again.log"; then
    echo "ERROR: the second run changed something (see $reports/harden-again.log)" >&2
    exit 1
fi

echo
echo "==> before / after"
# Exit code 1 means new failures after hardening: they are listed above the summary line, and the
# demo shows them rather than stopping (2, unreadable reports, stops it).
bulkhead compare "$reports/before.json" "$reports/after.json" || [ $? -eq 1 ]
echo
echo "Reports: $reports/{before,after}.xml (JUnit), .json (JSON), .html (open in a browser); logs: $reports/*.log"
