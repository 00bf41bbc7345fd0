#!/usr/bin/env bash
# Builds the local images that molecule scenarios and the demo start as disposable hosts. No
# registry is reachable, so the base comes from debootstrap and each further layer from
# `docker run` + `docker commit`. An image is rebuilt only when this script's recipe for it
# changed (its recipe hash is stored as a label), so repeated runs cost one `docker image inspect`.
set -euo pipefail

suite=bookworm
base_image=bulkhead-test/systemd:$suite
engine_image=bulkhead-test/engine:$suite

base_packages=python3,systemd,systemd-sysv,sudo,procps,iproute2,dbus,ca-certificates
# What every disposable host needs beyond the base: Debian's Docker engine, a static busybox to
# build a tiny image inside the nested engine (nothing can be pulled), the audit tools, rootless
# engines, Podman with a local registry, Skopeo and GnuPG for signed images, rsyslog and
# python3-apt (Ansible's apt module needs it in check mode).
engine_packages="docker.io busybox-static auditd uidmap rootlesskit slirp4netns fuse-overlayfs dbus-user-session"
engine_packages+=" podman docker-registry skopeo gnupg rsyslog python3-apt"

recipe_hash() { printf '%s' "$*" | sha256sum | cut -c1-16; }

image_current() { # image, expected recipe hash
    [ "$(docker image inspect --format '{{index .Config.Labels "bulkhead.recipe"}}' "$1" 2>/dev/null)" = "$2" ]
}

base_hash=$(recipe_hash "$suite" "$base_packages")
if ! image_current "$base_image" "$base_hash"; then
    command -v debootstrap >/dev/null 2>&1 || {
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    }
    rootfs=$(mktemp -d /var/tmp/bulkhead-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    echo "==> debootstrap $suite into $rootfs (about a minute)"
    debootstrap --variant=minbase --include="$base_packages" "$suite" "$rootfs" >/dev/null
    # An empty machine-id lets systemd generate one at first boot of each container.
    : >"$rootfs/etc/machine-id"
    tar -C "$rootfs" -c . | docker import \
        --change "LABEL bulkhead.recipe=$base_hash" \
        --change 'CMD ["/lib/systemd/systemd"]' - "$base_image" >/dev/null
    rm -rf "$rootfs"
    trap - EXIT
    echo "==> built $base_image"
fi

engine_hash=$(recipe_hash "$base_hash" "$engine_packages")
if ! image_current "$engine_image" "$engine_hash"; then
    builder=bulkhead-image-builder-$$
    echo "==> installing engine packages into $engine_image"
    docker run --name "$builder" "$base_image" sh -c "
        set -e
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $engine_packages >/dev/null
        # The image must not start an engine by itself: scenarios decide what runs.
        systemctl disable docker.service docker.socket containerd.service auditd.service \
            docker-registry.service rsyslog.service >/dev/null 2>&1 || true
        # The package lists stay: roles and scenarios install with a fresh cache, no apt-get update.
        apt-get clean
    "
    docker commit \
        --change "LABEL bulkhead.recipe=$engine_hash" \
        --change 'CMD ["/lib/systemd/systemd"]' "$builder" "$engine_image" >/dev/null
    docker rm "$builder" >/dev/null
    echo "==> built $engine_image"
fi
