#!/usr/bin/env bash
# Starts a disposable container host: a systemd container from the local engine image, with the
# options that let systemd and a nested Docker engine run on these machines (see
# ../shared/ENVIRONMENT.md). Usage: start-target.sh NAME [IMAGE]
set -euo pipefail
name=${1:?usage: start-target.sh NAME [IMAGE]}
image=${2:-bulkhead-test/engine:bookworm}

docker rm -f -v "$name" >/dev/null 2>&1 || true
docker run -d --name "$name" --hostname "$name" \
    --cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add SYS_PTRACE \
    --security-opt seccomp=unconfined \
    --tmpfs /run --tmpfs /run/lock \
    --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
    -v /var/lib/docker \
    --device /dev/fuse \
    "$image" /lib/systemd/systemd >/dev/null
echo "$name"
