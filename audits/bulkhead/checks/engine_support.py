"""Is the Docker engine's release series still fixed by whoever supplies it? (CIS 1.2.2)

An engine built by Docker is judged by how long its series has been superseded by a newer one;
an engine packaged by a distribution (Debian's docker.io: ``20.10.24+dfsg1``) gets its fixes from
the distribution for as long as that release is supported.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass

# First release of each upstream series (docs.docker.com release notes).
SERIES_RELEASED: dict[tuple[int, int], datetime.date] = {
    (18, 9): datetime.date(2018, 11, 8),
    (19, 3): datetime.date(2019, 7, 22),
    (20, 10): datetime.date(2020, 12, 8),
    (23, 0): datetime.date(2023, 2, 1),
    (24, 0): datetime.date(2023, 5, 16),
    (25, 0): datetime.date(2024, 1, 19),
    (26, 0): datetime.date(2024, 3, 20),
    (26, 1): datetime.date(2024, 4, 22),
    (27, 0): datetime.date(2024, 6, 24),
    (27, 1): datetime.date(2024, 7, 22),
    (27, 2): datetime.date(2024, 8, 27),
    (27, 3): datetime.date(2024, 9, 19),
    (27, 4): datetime.date(2024, 12, 9),
    (27, 5): datetime.date(2025, 1, 13),
    (28, 0): datetime.date(2025, 2, 19),
    (28, 1): datetime.date(2025, 4, 17),
    (28, 2): datetime.date(2025, 5, 28),
    (28, 3): datetime.date(2025, 6, 24),
    (28, 4): datetime.date(2025, 9, 3),
    (28, 5): datetime.date(2025, 10, 2),
    (29, 0): datetime.date(2025, 11, 10),
}

# Until when a distribution release (os-release ID, VERSION_ID) gets security fixes, LTS included.
DISTRIBUTION_SUPPORT: dict[tuple[str, str], datetime.date] = {
    ("debian", "11"): datetime.date(2026, 8, 31),
    ("debian", "12"): datetime.date(2028, 6, 30),
    ("debian", "13"): datetime.date(2030, 6, 30),
    ("ubuntu", "20.04"): datetime.date(2025, 5, 31),
    ("ubuntu", "22.04"): datetime.date(2027, 6, 1),
    ("ubuntu", "24.04"): datetime.date(2029, 5, 31),
}

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(.*)$")
_DISTRIBUTION_BUILD = re.compile(r"\+dfsg|\+ds\d|[-~+](debian|deb\d|ubuntu)")


@dataclass(frozen=True)
class Verdict:
    supported: bool
    reason: str


def judge(version: str, os_release: Mapping[str, str], today: datetime.date, max_superseded_days: int) -> Verdict:
    match = _VERSION.match(version.strip())
    if not match:
        raise ValueError(f"cannot read the engine version {version!r}")
    series = (int(match[1]), int(match[2]))
    if _DISTRIBUTION_BUILD.search(match[4] or ""):
        distribution = (os_release.get("ID", ""), os_release.get("VERSION_ID", ""))
        ends = DISTRIBUTION_SUPPORT.get(distribution)
        name = os_release.get("PRETTY_NAME") or " ".join(distribution)
        if ends is not None:
            if today <= ends:
                return Verdict(True, f"engine {version} is maintained by {name} until {ends}")
            return Verdict(False, f"engine {version} came from {name}, whose support ended on {ends}")
    newer = sorted(released for other, released in SERIES_RELEASED.items() if other > series)
    if not newer:
        return Verdict(True, f"engine series {series[0]}.{series[1]} is the newest this audit knows")
    superseded_days = (today - newer[0]).days
    if superseded_days > max_superseded_days:
        return Verdict(
            False,
            f"engine {version}: series {series[0]}.{series[1]} was superseded on {newer[0]} "
            f"({superseded_days} days ago, more than {max_superseded_days})",
        )
    return Verdict(True, f"engine {version}: series superseded {superseded_days} days ago")
