import sys
from pathlib import Path

# Make `ansible_collections.bulkhead.hardening` importable from this checkout: the directory that
# holds ansible_collections/ joins the namespace package the `ansible` distribution installs.
sys.path.insert(0, str(Path(__file__).resolve().parents[5]))
