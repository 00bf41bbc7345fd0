#!/usr/bin/env bash
# The main job on a disposable target: start a container host with a Docker engine inside,
# audit it, harden it with playbooks/harden.yml, audit it again, compare, remove the target.
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

audit() { # phase
    local code=0
    bulkhead audit --hosts "docker://$target" \
        --junit "$reports/$1.xml" --json "$reports/$1.json" >"$reports/audit-$1.log" 2>&1 || code=$?
    if [ "$code" -ge 2 ]; then
        cat "$reports/audit-$1.log"
        echo "ERROR: the $1 audit could not run (exit $code)" >&2
        exit "$code"
    fi
    echo "    audit $1 hardening: exit $code (0 compliant, 1 findings)"
}

echo "==> auditing before hardening"
audit before
echo "==> hardening with playbooks/harden.yml (log: $reports/harden.log)"
ansible-playbook -i inventories/local/hosts.yml playbooks/harden.yml >"$reports/harden.log" \
    || { tail -n 40 "$reports/harden.log"; exit 1; }
echo "==> auditing after hardening"
audit after

echo
echo "==> before / after"
bulkhead compare "$reports/before.json" "$reports/after.json"
echo
echo "Reports: $reports/before.xml $reports/after.xml (JUnit), $reports/before.json $reports/after.json (JSON)"
