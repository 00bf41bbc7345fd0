"""The control catalogue as a terminal table and as README's Markdown table (``make docs``)."""

from __future__ import annotations

from bulkhead.catalogue import load_catalogue


def controls_table() -> str:
    catalogue = list(load_catalogue())
    width = max(len(control.remediation) for control in catalogue)  # long variable names keep the columns
    rows = [f"{c.id:<10} {c.severity:<9} {c.remediation:<{width}} {c.title}" for c in catalogue]
    return "\n".join(rows)


def controls_markdown() -> str:
    lines = [
        "| ID | Title | Severity | Level | Remediation variable | References |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for control in load_catalogue():
        remediation = "audit only" if control.is_audit_only else f"`{control.remediation}`"
        lines.append(
            f"| {control.id} | {control.title} | {control.severity} | {control.level} | "
            f"{remediation} | {control.references_text()} |"
        )
    return "\n".join(lines)
