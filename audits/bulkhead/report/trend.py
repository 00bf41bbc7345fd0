"""The HTML report's trend view over an audit history, as inline SVG (no script, no font, no file).

Two figures from the runs' summaries (``bulkhead.history.summarise``), oldest run first:
outcome counts per run as stacked bars, and a host x run grid of cells coloured by the host's
worst outcome in that run. A cell is 14 px, so 50 hosts x 20 runs stays about 820 x 950 px.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

# Worst first: the colour of a grid cell is the first of these the host had in that run.
WORST_FIRST = ("fail", "error", "waived", "pass", "not_applicable")
# Bars stack from the axis up: failures at the bottom, where their heights compare best.
STACK_ORDER = ("fail", "error", "waived", "pass", "not_applicable")
COLOURS = {
    "fail": "#c62828",
    "error": "#6a1b9a",
    "waived": "#b26a00",
    "pass": "#2e7d32",
    "not_applicable": "#90a4ae",
}
ABSENT_FILL = "#ffffff"
ABSENT_STROKE = "#c5ced8"
TEXT = "#1d2630"
MUTED = "#4a5866"

CELL = 14
GAP = 2
LABEL_CHARS = 32
RUN_LABEL_HEIGHT = 78


def run_label(summary: dict[str, Any]) -> str:
    """``11-30 03:15`` from the run's start (its entry name), or the name when it cannot be read."""
    try:
        return datetime.fromisoformat(summary["started"]).strftime("%m-%d %H:%M")
    except (KeyError, TypeError, ValueError):
        return str(summary.get("name", "?"))


def worst(counts: dict[str, int] | None) -> str | None:
    if not counts:
        return None
    for outcome in WORST_FIRST:
        if counts.get(outcome):
            return outcome
    return None


def _counts_text(counts: dict[str, int]) -> str:
    return ", ".join(f"{counts.get(outcome, 0)} {outcome.replace('_', ' ')}" for outcome in WORST_FIRST)


def _short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "\u2026"


def _nice_ceiling(value: int) -> int:
    for step in (5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        if value <= step * 5:
            return max(step, -(-value // step) * step)
    return value


def _run_labels(
    summaries: list[dict[str, Any]], x_of: Any, top: float, every: int, angle: int = -45, size: int = 11
) -> list[str]:
    parts = []
    for index, summary in enumerate(summaries):
        if index % every and index != len(summaries) - 1:
            continue
        x = x_of(index)
        parts.append(
            f'<text x="{x:.1f}" y="{top:.1f}" transform="rotate({angle} {x:.1f} {top:.1f})" text-anchor="end" '
            f'font-size="{size}" fill="{MUTED}">{escape(run_label(summary))}</text>'
        )
    return parts


def _legend(x: float, y: float) -> list[str]:
    parts = []
    for outcome in WORST_FIRST:
        parts.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="11" height="11" fill="{COLOURS[outcome]}"/>')
        label = outcome.replace("_", " ")
        parts.append(f'<text x="{x + 15:.1f}" y="{y:.1f}" font-size="12" fill="{TEXT}">{label}</text>')
        x += 24 + 7.2 * len(label)
    return parts


def counts_chart(summaries: list[dict[str, Any]]) -> str:
    """Stacked bars: one per run, outcome counts of every host together."""
    runs = len(summaries)
    step = max(18.0, min(44.0, 900.0 / max(runs, 1)))
    left, top, plot_height = 52.0, 30.0, 200.0
    width = left + step * runs + 20
    height = top + plot_height + RUN_LABEL_HEIGHT
    totals = [sum((summary.get("counts") or {}).get(outcome, 0) for outcome in STACK_ORDER) for summary in summaries]
    ceiling = _nice_ceiling(max([*totals, 1]))
    bar = step * 0.7

    def y_of(value: float) -> float:
        return top + plot_height - plot_height * value / ceiling

    parts = _legend(left, 16)
    for tick in range(0, ceiling + 1, max(1, ceiling // 5)):
        y = y_of(tick)
        parts.append(f'<line x1="{left:.1f}" x2="{width - 10:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e8ee"/>')
        parts.append(
            f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{MUTED}">{tick}</text>'
        )
    for index, summary in enumerate(summaries):
        counts = summary.get("counts") or {}
        x = left + step * index + (step - bar) / 2
        base = 0
        label = escape(f"{summary.get('name', '?')}: {_counts_text(counts)}")
        for outcome in STACK_ORDER:
            value = counts.get(outcome, 0)
            if not value:
                continue
            y = y_of(base + value)
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{y_of(base) - y:.1f}" '
                f'fill="{COLOURS[outcome]}"><title>{label}</title></rect>'
            )
            base += value
    every = max(1, -(-runs // 30))
    parts += _run_labels(summaries, lambda index: left + step * index + step / 2 + 4, top + plot_height + 14, every)
    return _svg(width, height, "Outcome counts per audit run", parts)


def host_grid(summaries: list[dict[str, Any]]) -> str:
    """Hosts x runs, each cell the host's worst outcome in that run; failing hosts (latest run) first."""
    latest = (summaries[-1].get("hosts") or {}) if summaries else {}
    names = {host for summary in summaries for host in (summary.get("hosts") or {})}
    rank = {outcome: index for index, outcome in enumerate(WORST_FIRST)}
    hosts = sorted(names, key=lambda host: (rank.get(worst(latest.get(host)) or "", len(rank)), host))
    label_width = 7.0 * LABEL_CHARS + 12
    left, top = label_width, 8.0
    pitch = CELL + GAP
    width = left + pitch * len(summaries) + 120
    height = top + pitch * len(hosts) + RUN_LABEL_HEIGHT
    parts = []
    for row, host in enumerate(hosts):
        y = top + pitch * row
        parts.append(
            f'<text x="{left - 8:.1f}" y="{y + CELL - 3:.1f}" text-anchor="end" font-size="12" fill="{TEXT}">'
            f"<title>{escape(host)}</title>{escape(_short(host))}</text>"
        )
        for column, summary in enumerate(summaries):
            counts = (summary.get("hosts") or {}).get(host)
            outcome = worst(counts)
            x = left + pitch * column
            if outcome is None:
                tip = f"{host} in {summary.get('name', '?')}: not audited"
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{CELL}" height="{CELL}" fill="{ABSENT_FILL}" '
                    f'stroke="{ABSENT_STROKE}"><title>{escape(tip)}</title></rect>'
                )
                continue
            tip = f"{host} in {summary.get('name', '?')}: {_counts_text(counts or {})}"
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{CELL}" height="{CELL}" rx="2" fill="{COLOURS[outcome]}">'
                f"<title>{escape(tip)}</title></rect>"
            )
        now = latest.get(host)
        note = f"{now.get('fail', 0)} fail, {now.get('error', 0)} error" if now else "not in latest run"
        parts.append(
            f'<text x="{left + pitch * len(summaries) + 8:.1f}" y="{y + CELL - 3:.1f}" font-size="11" '
            f'fill="{MUTED}">{escape(note)}</text>'
        )
    # Columns are one cell wide: their labels stand upright (10 px text in a 16 px column).
    every = max(1, -(-len(summaries) // 40))
    label_top = top + pitch * len(hosts) + 6
    parts += _run_labels(
        summaries, lambda index: left + pitch * index + CELL / 2 + 3.5, label_top, every, angle=-90, size=10
    )
    return _svg(width, height, "Worst outcome per host and audit run", parts)


def _svg(width: float, height: float, title: str, parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{escape(title)}" '
        f'font-family="system-ui, sans-serif"><title>{escape(title)}</title>' + "".join(parts) + "</svg>"
    )


def trend_section(summaries: list[dict[str, Any]]) -> str:
    """The HTML of the report's trend section (empty without runs)."""
    if not summaries:
        return ""
    first, last = run_label(summaries[0]), run_label(summaries[-1])
    return (
        '<section id="trend">'
        f"<h2>Trend over {len(summaries)} audit run(s), {escape(first)} to {escape(last)} (UTC)</h2>"
        '<figure class="trend"><figcaption><b>Control results per run</b>, all hosts together (hover a bar '
        "for its counts).</figcaption>" + counts_chart(summaries) + "</figure>"
        '<figure class="trend"><figcaption><b>Hosts over time</b>: each cell is the host\'s worst outcome in '
        "that run (hover for its counts); white: not audited. Hosts failing in the latest run come first."
        "</figcaption>" + host_grid(summaries) + "</figure>"
        "</section>"
    )
