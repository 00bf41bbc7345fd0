#!/usr/bin/env bash
# ansible-test sanity for the collection, from its directory, against the venv's Python.
# Galaxy and ansible-test's download host are unreachable here: every sanity test's requirements
# come from PyPI into ansible-test's own per-test virtualenvs (~/.ansible/test/venv, reused on
# later runs), and pip is bootstrapped with scripts/ansible-test-get-pip.py. Safe to run again.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=$root/.venv/bin/python
read -r pip_version python_version < <("$python" - <<'PY'
import pathlib, re, sys
import ansible_test
text = (pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py").read_text()
print(re.search(r"pip='([0-9.]+)'", text).group(1), "%d.%d" % sys.version_info[:2])
PY
)
cache=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
[ -s "$cache" ] || install -D -m 0644 "$root/scripts/ansible-test-get-pip.py" "$cache"
cd "$root/collections/ansible_collections/bulkhead/hardening"
exec "$root/.venv/bin/ansible-test" sanity --local --python "$python_version" --color no "$@"
