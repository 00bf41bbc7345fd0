"""Plain-text tables whose columns never break: every width is computed from the cells it holds.

Widths are measured in characters (host names, control IDs, user names and numbers are ASCII). The
last column is never padded, so a long title or command only makes its own line longer. No
terminal-table library is needed for this; `rich` would add a few MB of dependencies (and
pygments) to every install for what is a max() per column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    right: Sequence[int] = (),
    indent: str = "",
    gap: str = "  ",
    paint: Callable[[int, int, str], str] | None = None,
) -> list[str]:
    """The lines of a table; ``right`` lists the columns aligned right (numbers). ``paint(row,
    column, padded_text)`` may colour a cell after it has been padded (row -1 is the header)."""
    cells = [[str(cell) for cell in headers]] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    lines = []
    for index, row in enumerate(cells):
        parts = []
        for column, text in enumerate(row):
            last = column == len(row) - 1
            if column in right:
                text = text.rjust(widths[column])
            elif not last:
                text = text.ljust(widths[column])
            if paint is not None:
                text = paint(index - 1, column, text)
            parts.append(text)
        lines.append((indent + gap.join(parts)).rstrip())
    return lines
