"""Containers the events recorder kept (BH-1.7): the ones already gone when the audit runs too.

``bulkhead-events`` (installed by bulkhead.hardening.container_host) writes one document per
container it saw created or started into ``RECORDED_DIR`` (``<id>.json``, root only), in the shape
of ``engines.slim_container`` plus ``Recorded`` (the times the container was created, started,
finished and removed). The recorder bounds their number and age; the audit judges those that are
not running any more (fact ``recorded_containers``) with the same container checks.

The documents are read again through the slim shape here, so that a file written by anything else
cannot bring more than the checks read (an environment value, say) off the target.
"""

import json
import os

from .engines import _HOST_CONFIG_KEYS, MOUNT_KEYS
from .facts import FactError

RECORDED_DIR = "/var/lib/bulkhead-events/containers"
# Where a recorder keeps its documents elsewhere (its --containers-dir; the integration tests).
RECORDED_DIR_VARIABLE = "BULKHEAD_RECORDED_DIR"
MAX_DOCUMENTS = 5000  # the recorder keeps 2000 by default: a bound on what one audit carries
_KEYS = ("Id", "Name", "Engine", "EngineKind", "EngineMode", "Image", "AppArmorProfile", "ProcessLabel")
_CONFIG_KEYS = ("User", "Image", "Healthcheck", "EnvNames", "ExposedPorts", "Labels")
_STATE_KEYS = ("Status", "Running", "Pid", "Health")
_RECORDED_KEYS = ("Created", "Started", "Finished", "Removed", "Truncated")


def _reslim(document):
    config = document.get("Config") or {}
    state = document.get("State") or {}
    recorded = document.get("Recorded") or {}
    mounts = document.get("Mounts") or []
    slim = {key: document.get(key) for key in _KEYS}
    slim.update(
        {
            "Config": {key: config.get(key) for key in _CONFIG_KEYS},
            "HostConfig": {key: (document.get("HostConfig") or {}).get(key) for key in _HOST_CONFIG_KEYS},
            "State": {key: state.get(key) for key in _STATE_KEYS},
            "Mounts": [
                dict({key: mount.get(key) for key in MOUNT_KEYS}, RealSource=mount.get("RealSource"))
                for mount in mounts
                if isinstance(mount, dict)
            ],
            "Ports": document.get("Ports") or {},
            "Networks": document.get("Networks") or [],
            "Recorded": {key: recorded.get(key) for key in _RECORDED_KEYS if recorded.get(key) is not None},
        }
    )
    for key in ("EnvNames", "ExposedPorts", "Labels"):
        slim["Config"][key] = [str(item).split("=", 1)[0] for item in slim["Config"][key] or []]
    return slim


def recorded_containers(directory=None):
    """Every kept container document; [] where no recorder keeps any (no directory)."""
    directory = directory or os.environ.get(RECORDED_DIR_VARIABLE) or RECORDED_DIR
    try:
        names = sorted(name for name in os.listdir(directory) if name.endswith(".json"))
    except FileNotFoundError:
        return []
    except OSError as error:
        message = "cannot read the events recorder's containers in {}: {}".format(directory, error.strerror)
        raise FactError(message) from None
    found = []
    for name in names[-MAX_DOCUMENTS:]:
        try:
            with open(os.path.join(directory, name), encoding="utf-8") as handle:
                document = json.load(handle)
        except FileNotFoundError:
            continue  # pruned by the recorder meanwhile
        except (OSError, ValueError) as error:
            raise FactError("cannot read {}: {}".format(os.path.join(directory, name), error)) from None
        if isinstance(document, dict) and document.get("Id") and isinstance(document.get("HostConfig"), dict):
            found.append(_reslim(document))
    return found
