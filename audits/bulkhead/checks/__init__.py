"""Every control's verdict as a pure function, keyed by control ID (see ``registry``).

Importing this package registers the ``CHECKS`` table of every module of checks;
``REGISTRY[control_id]`` is the one function that judges a control, whoever asks: the audit
suites, the history of gone containers, the admission gate.
"""

from bulkhead.checks import (
    container_images,
    container_runtime,
    docker_daemon,
    docker_files,
    host,
    image_assurance,
    images_approved,
    network_segmentation,
    podman,
    security_operations,
    swarm,
    userns_remap,
)
from bulkhead.checks.registry import (
    REGISTRY,
    Check,
    ContainerCheck,
    ContainerVerdict,
    Context,
    Findings,
    HostCheck,
    ImageCheck,
    container_controls,
    image_controls,
    judge_container,
    register,
)

for _module in (
    container_images,
    container_runtime,
    image_assurance,
    images_approved,
    podman,
    security_operations,
    swarm,
    host,
    docker_daemon,
    userns_remap,
    docker_files,
    network_segmentation,
):
    register(_module.CHECKS)

__all__ = [
    "REGISTRY",
    "Check",
    "ContainerCheck",
    "ContainerVerdict",
    "Context",
    "Findings",
    "HostCheck",
    "ImageCheck",
    "container_controls",
    "image_controls",
    "judge_container",
]
