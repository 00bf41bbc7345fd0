#!/usr/bin/env bash
# Makes sure a Docker engine answers on the default socket: installs Debian's docker.io when
# dockerd is missing and starts dockerd in the background when nothing runs it (these machines
# have no systemd as PID 1). Idempotent: returns at once when the engine already answers.
set -euo pipefail

log=/var/log/bulkhead-dockerd.log

engine_answers() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

engine_answers && exit 0

if ! command -v dockerd >/dev/null 2>&1; then
    echo "==> installing docker.io from apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

if [ -d /run/systemd/system ]; then
    systemctl start docker
else
    echo "==> starting dockerd (log: $log)"
    nohup dockerd >"$log" 2>&1 &
fi

for _ in $(seq 60); do
    engine_answers && exit 0
    sleep 1
done
echo "ERROR: dockerd did not answer within 60 s; last lines of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
