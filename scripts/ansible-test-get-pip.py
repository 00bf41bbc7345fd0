"""Offline stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test creates an empty virtualenv per sanity test and bootstraps pip in it by running a
get-pip.py it downloads from ci-files.testing.ansible.com, which is not reachable from our
machines. `make sanity` installs this file where ansible-test caches that script. It receives
the same arguments (pip options and `pip==X`), bootstraps the interpreter's bundled pip with
ensurepip, then lets that pip install the requested version from PyPI. That older pip trusts
only its bundled certificates, so it is pointed at the system's CA file (what the machine trusts,
proxies included); the pip it installs reads pip.conf as usual.
"""

import ensurepip
import os
import ssl
import subprocess
import sys

GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

ensurepip.bootstrap(upgrade=True)
arguments = [argument for argument in sys.argv[1:] if argument not in GET_PIP_ONLY]
system_ca = ssl.get_default_verify_paths().cafile
if system_ca and os.path.exists(system_ca):
    arguments = ["--cert", system_ca, *arguments]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", *arguments]))
