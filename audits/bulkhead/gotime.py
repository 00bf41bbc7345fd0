"""Times as Go programs write them (Docker, Podman, Trivy, Grype): RFC 3339 with up to nanoseconds."""

from __future__ import annotations

from datetime import UTC, datetime


def go_time(text: object) -> datetime | None:
    """A time as Go programs (Docker, Podman, Trivy, Grype) write it, in UTC when it gives no zone.

    Go writes up to nanoseconds; ``fromisoformat`` takes at most microseconds, so the fraction is cut."""
    if not isinstance(text, str) or not text:
        return None
    value = text.replace("Z", "+00:00")
    if "." in value:
        head, tail = value.split(".", 1)
        digits = len(tail) - len(tail.lstrip("0123456789"))
        value = f"{head}.{tail[:digits][:6]}{tail[digits:]}"
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
