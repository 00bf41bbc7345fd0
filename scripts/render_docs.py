"""Rewrite README.md's control table (between the controls:begin/end markers) from the catalogue."""

from pathlib import Path

from bulkhead.report.controls_table import controls_markdown

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- controls:begin -->\n", "<!-- controls:end -->"

text = README.read_text(encoding="utf-8")
head, rest = text.split(BEGIN, 1)
_, tail = rest.split(END, 1)
README.write_text(head + BEGIN + controls_markdown() + "\n" + END + tail, encoding="utf-8")
print(f"updated the control table in {README}")
