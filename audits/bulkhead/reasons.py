"""Reasons a person can act on: an error cut to one short line that keeps its cause.

Why a control could not be determined can arrive as a whole backend dump: testinfra's ssh backend
raises with the repr of its CommandResult, which holds the base64 collector command (70 kB) and
puts the cause ("Connection refused") at the very end. Every control of the host carries that
reason into every report, so one unreachable host made a 16 MB JUnit file. ``short_reason`` keeps
the first meaningful line and the last one (the cause), drops opaque blobs, and never exceeds
``LIMIT`` characters; the cause is never dropped.
"""

from __future__ import annotations

import ast
import re

LIMIT = 300
ELLIPSIS = " ... "

# testinfra's CommandResult repr: backend, exit_status, command, _stdout, _stderr (bytes or str literals).
_LITERAL = r"(b?'(?:[^'\\]|\\.)*'|b?\"(?:[^\"\\]|\\.)*\")"
_COMMAND_RESULT = re.compile(
    r"CommandResult\(backend=.*?, exit_status=(-?\d+), command=.*?, "
    + (r"_stdout=" + _LITERAL + r", _stderr=" + _LITERAL + r"\)"),
    re.DOTALL,
)
# base64, hex and the like: long runs that tell a person nothing (a path has a slash every few
# characters, base64 one in 64 on average: paths are kept)
_BLOB = re.compile(r"[A-Za-z0-9+/=]{80,}")
# real line breaks, and the escaped ones of a bytes repr
_LINE_BREAK = re.compile(r"(?:\r?\n|\\r\\n|\\n|\\r)+")


def _text(literal: str) -> str:
    try:
        value = ast.literal_eval(literal)
    except (ValueError, SyntaxError):
        return literal
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _command_result(match: re.Match[str]) -> str:
    status, stdout, stderr = match.group(1), _text(match.group(2)), _text(match.group(3))
    output = [line.strip() for line in (stderr or stdout).splitlines() if line.strip()]
    return f"exit status {status}" + (f": {output[-1]}" if output else "")


def _cut_middle(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    keep = limit - len(ELLIPSIS)
    head = keep // 2
    return text[:head].rstrip() + ELLIPSIS + text[len(text) - (keep - head) :].lstrip()


def short_reason(text: str, limit: int = LIMIT) -> str:
    """One line of at most ``limit`` characters: the first meaningful line and the cause (the last line)."""
    text = _COMMAND_RESULT.sub(_command_result, text)
    text = _BLOB.sub(lambda match: "..." if match.group().count("/") * 16 < len(match.group()) else match.group(), text)
    lines = [line.strip() for line in _LINE_BREAK.split(text) if line.strip()]
    if not lines:
        return ""
    first, cause = lines[0], lines[-1]
    if len(lines) == 1:
        return _cut_middle(first, limit)
    cause = _cut_middle(cause, max(limit // 2, limit - len(first) - len(ELLIPSIS)))
    room = limit - len(cause) - len(ELLIPSIS)
    if len(first) > room:
        first = first[: room - 3].rstrip() + "..."
    return f"{first}{ELLIPSIS}{cause}"
