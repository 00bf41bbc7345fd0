#!/usr/bin/env bash
# Builds a tiny local image from Debian's busybox-static (no registry needed), once: used by the
# integration tests and `make bench`. Usage: scripts/busybox-image.sh [NAME:TAG]
set -euo pipefail
image=${1:-bulkhead-it/busybox:local}
docker image inspect "$image" >/dev/null 2>&1 && exit 0
if ! dpkg -s busybox-static >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/tmp" "$root/etc"
cp /bin/busybox "$root/bin/busybox"
for tool in sh sleep cat ls id ps true false nc; do ln -s busybox "$root/bin/$tool"; done
echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
chmod 1777 "$root/tmp"
tar -C "$root" -c . | docker import --change 'CMD ["/bin/sh"]' - "$image" >/dev/null
echo "built $image"
