#!/usr/bin/env bash
# Installs the host packages the integration tests use on this machine, when they are missing:
# auditd (auditctl, augenrules, ausearch: the container_host rules are loaded and searched here),
# busybox-static (a one-binary test image, since nothing can be pulled), util-linux's setpriv and
# chromium (headless: the HTML report's trend view is checked in a real browser).
# Idempotent: returns at once when everything is there. Never starts or stops a service.
set -euo pipefail

missing=()
command -v auditctl >/dev/null 2>&1 || [ -x /sbin/auditctl ] || missing+=(auditd)
[ -x /bin/busybox ] || missing+=(busybox-static)
command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)

[ ${#missing[@]} -eq 0 ] && exit 0
echo "==> installing ${missing[*]} from apt"
apt-get update -qq
# policy-rc.d on these machines keeps apt from starting auditd; the tests start it when needed.
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
