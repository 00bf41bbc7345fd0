#!/bin/bash
# Usage: busybox_image.sh docker|podman IMAGE
# Builds a tiny image from the host's static busybox (nothing can be pulled here) in the engine the
# caller talks to (DOCKER_HOST for docker, the caller's own storage for podman). Prints "built"
# when it built one; does nothing when the image exists.
set -euo pipefail
engine=$1 image=$2
"$engine" image inspect "$image" >/dev/null 2>&1 && exit 0
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"
mkdir -p "$root/bin"
cp /bin/busybox "$root/bin/busybox"
for tool in sh sleep cat ls id ps; do ln -s busybox "$root/bin/$tool"; done
tar -C "$root" -c . | "$engine" import --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' - "$image" >/dev/null
echo built
