#!/usr/bin/env bash
# Podman engines beside this machine's Docker engine, for the integration tests: a rootful Podman
# and a rootless Podman user (bhpodman, subordinate ids, /run/user/UID as logind would make it),
# each running one container, so that the tests prove they judge only what they create and that
# an audit run from a 0700 directory still reads the rootless engine.
#   scripts/podman-engines.sh install   Debian's podman and the rootless helpers (idempotent)
#   scripts/podman-engines.sh start     the user, the images and the two containers (idempotent)
#   scripts/podman-engines.sh stop      remove the two containers (the user and images stay)
# Containers use --network none: no netavark/iptables rule can touch the Docker engine's chains.
set -euo pipefail

user=bhpodman
image=bulkhead-it/busybox:local
rootful_name=bulkhead-it-podman-rootful
rootless_name=bulkhead-it-podman-rootless
here=$(cd "$(dirname "$0")" && pwd)

install_packages() {
    local missing=()
    command -v podman >/dev/null 2>&1 || missing+=(podman)
    command -v newuidmap >/dev/null 2>&1 || missing+=(uidmap)
    command -v slirp4netns >/dev/null 2>&1 || missing+=(slirp4netns)
    command -v fuse-overlayfs >/dev/null 2>&1 || missing+=(fuse-overlayfs)
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "==> installing ${missing[*]} from apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

as_user() {
    local uid
    uid=$(id -u "$user")
    (cd / && runuser -u "$user" -- env XDG_RUNTIME_DIR="/run/user/$uid" HOME="/home/$user" "$@")
}

start() {
    install_packages
    # Rootful Podman's default ulimits need CAP_SYS_RESOURCE, which these machines lack.
    mkdir -p /etc/containers/containers.conf.d
    cat >/etc/containers/containers.conf.d/bulkhead-tests.conf <<'EOF'
# Written by bulkhead's scripts/podman-engines.sh for the integration tests.
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
EOF
    id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
    grep -q "^$user:" /etc/subuid || echo "$user:400000:65536" >>/etc/subuid
    grep -q "^$user:" /etc/subgid || echo "$user:400000:65536" >>/etc/subgid
    local uid
    uid=$(id -u "$user")
    install -d -m 0700 -o "$user" -g "$user" "/run/user/$uid"
    install -d -m 0755 -o "$user" -g "$user" "/home/$user/.config" "/home/$user/.config/containers"
    # No systemd user session here: cgroupfs and a file events log; vfs needs no /dev/fuse access.
    cat >"/home/$user/.config/containers/containers.conf" <<'EOF'
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
    cat >"/home/$user/.config/containers/storage.conf" <<'EOF'
[storage]
driver = "vfs"
EOF
    chown "$user:$user" "/home/$user/.config/containers/"*.conf

    bash "$here/busybox-image.sh" "$image" >/dev/null
    podman image exists "localhost/$image" || docker save "$image" | podman load -q >/dev/null
    as_user podman image exists "localhost/$image" || docker save "$image" | as_user podman load -q >/dev/null

    if [ "$(podman container inspect --format '{{.State.Running}}' "$rootful_name" 2>/dev/null)" != true ]; then
        podman rm -f "$rootful_name" >/dev/null 2>&1 || true
        podman run -d --name "$rootful_name" --network none "localhost/$image" sleep 86400 >/dev/null
    fi
    if [ "$(as_user podman container inspect --format '{{.State.Running}}' "$rootless_name" 2>/dev/null)" != true ]; then
        as_user podman rm -f "$rootless_name" >/dev/null 2>&1 || true
        as_user podman run -d --name "$rootless_name" --network none "localhost/$image" sleep 86400 >/dev/null
    fi
}

stop() {
    podman rm -f -t 0 "$rootful_name" >/dev/null 2>&1 || true
    id "$user" >/dev/null 2>&1 && { as_user podman rm -f -t 0 "$rootless_name" >/dev/null 2>&1 || true; }
}

case "${1:-}" in
    install) install_packages ;;
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
