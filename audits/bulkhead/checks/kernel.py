"""The kernel under the containers: known breakout bugs by version, and hardening parameters.

Containers share the host's kernel, so a kernel bug that turns a process into root on the host
turns any container into the host. Versions are upstream versions: a distribution that
backports fixes without changing the version (enterprise kernels) cannot be judged this way,
which the check says instead of guessing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

Version = tuple[int, int, int]


@dataclass(frozen=True)
class KernelBug:
    cve: str
    name: str
    introduced: Version
    fixed_mainline: Version  # first mainline release with the fix
    fixed_stable: dict[tuple[int, int], int]  # stable branch (major, minor) -> first fixed patch level

    def affects(self, version: Version) -> bool:
        if version < self.introduced or version >= self.fixed_mainline:
            return False
        fixed_patch = self.fixed_stable.get(version[:2])
        return fixed_patch is None or version[2] < fixed_patch


BREAKOUT_BUGS: tuple[KernelBug, ...] = (
    KernelBug(
        "CVE-2016-5195",
        "Dirty COW",
        (2, 6, 22),
        (4, 9, 0),
        {
            (4, 8): 3,
            (4, 7): 9,
            (4, 4): 26,
            (3, 18): 44,
            (3, 16): 38,
            (3, 12): 66,
            (3, 10): 104,
            (3, 4): 113,
            (3, 2): 83,
        },
    ),
    KernelBug(
        "CVE-2021-22555",
        "netfilter x_tables heap out-of-bounds write",
        (2, 6, 19),
        (5, 12, 0),
        {(5, 11): 15, (5, 10): 31, (5, 4): 113, (4, 19): 188, (4, 14): 231, (4, 9): 267, (4, 4): 267},
    ),
    KernelBug(
        "CVE-2022-0185",
        "fsconfig heap overflow",
        (5, 1, 0),
        (5, 17, 0),
        {(5, 16): 2, (5, 15): 16, (5, 10): 93, (5, 4): 173},
    ),
    KernelBug(
        "CVE-2022-0492",
        "cgroup v1 release_agent escape",
        (2, 6, 24),
        (5, 17, 0),
        {(5, 16): 5, (5, 15): 19, (5, 10): 96, (5, 4): 177, (4, 19): 229, (4, 14): 266, (4, 9): 301},
    ),
    KernelBug(
        "CVE-2022-0847",
        "Dirty Pipe",
        (5, 8, 0),
        (5, 17, 0),
        {(5, 16): 11, (5, 15): 25, (5, 10): 102},
    ),
    KernelBug(
        "CVE-2024-1086",
        "nf_tables use-after-free",
        (3, 15, 0),
        (6, 8, 0),
        {(6, 7): 3, (6, 6): 15, (6, 1): 76, (5, 15): 149, (5, 10): 209, (5, 4): 269, (4, 19): 307},
    ),
)

_DEBIAN = re.compile(r"\bDebian (\d+)\.(\d+)\.(\d+)")
_RELEASE = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")
_BACKPORTING = re.compile(r"\.el\d|\.amzn\d|\.oe\d|-azure|-aws|-gcp|-generic|-lowlatency|-oracle")


class UnknownKernel(ValueError):
    """The kernel's upstream version cannot be told from what it reports."""


def upstream_version(release: str, proc_version: str = "") -> tuple[Version, str]:
    """The upstream version and where it came from (Debian names it in /proc/version)."""
    debian = _DEBIAN.search(proc_version)
    if debian:
        return (int(debian[1]), int(debian[2]), int(debian[3])), f"Debian {debian[1]}.{debian[2]}.{debian[3]}"
    if _BACKPORTING.search(release):
        raise UnknownKernel(
            f"kernel {release} is a distribution kernel that backports fixes without changing its version; "
            "check the vendor's advisories for the CVEs listed in the catalogue"
        )
    match = _RELEASE.match(release)
    if not match:
        raise UnknownKernel(f"cannot read a version from kernel release {release!r}")
    return (int(match[1]), int(match[2]), int(match[3] or 0)), release


def bugs_affecting(version: Version) -> list[KernelBug]:
    return [bug for bug in BREAKOUT_BUGS if bug.affects(version)]


# sysctl parameters (BH-1.8, BH-1.9) and the least value each needs.
HARDENED_MINIMUMS = {
    "fs.protected_hardlinks": 1,
    "fs.protected_symlinks": 1,
    "fs.protected_fifos": 1,
    "fs.protected_regular": 1,
    "kernel.dmesg_restrict": 1,
    "kernel.unprivileged_bpf_disabled": 1,
}


def kernel_parameter_findings(values: Mapping[str, str], where: str) -> list[str]:
    """What is wrong with sysctl ``values`` (configured or live, ``where`` says which)."""
    findings = []
    for key, minimum in HARDENED_MINIMUMS.items():
        value = values.get(key)
        if value is None:
            findings.append(f"{key} is not set {where}")
        elif not value.isdigit() or int(value) < minimum:
            findings.append(f"{key} is {value} {where}, needs at least {minimum}")
    namespaces = values.get("user.max_user_namespaces")
    if namespaces is None:
        findings.append(f"user.max_user_namespaces is not set {where} (no bound on user namespaces)")
    elif namespaces == "0":
        findings.append(f"user.max_user_namespaces is 0 {where}: rootless engines and userns-remap cannot start")
    return findings
