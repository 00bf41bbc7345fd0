"""Every control's verdict as a pure function, keyed by control ID (see ``registry``).

Importing this package registers every check; ``REGISTRY[control_id]`` is the one function that
judges a control, whoever asks: the audit suites, the history of gone containers, the gate.
"""

from bulkhead.checks import container_images, container_runtime, images_approved, podman, security_operations, swarm  # noqa: F401  (they register their checks)
from bulkhead.checks.registry import (
    REGISTRY,
    Check,
    ContainerVerdict,
    Context,
    Findings,
    container_controls,
    judge_container,
)

__all__ = ["REGISTRY", "Check", "ContainerVerdict", "Context", "Findings", "container_controls", "judge_container"]
