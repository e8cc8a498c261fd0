"""Turn the measurements into one table (plain text for the terminal, Markdown for docs/benchmarks.md)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

COLUMNS = ("Figure", "Value", "Target", "Result", "How measured")
WIDTHS = (28, 44, 18, 7, 60)


@dataclass
class Row:
    figure: str
    value: str
    target: str = "-"
    result: str = "-"
    how: str = ""

    def cells(self) -> tuple[str, ...]:
        return (self.figure, self.value, self.target, self.result, self.how)


def verdict(ok: bool | None) -> str:
    if ok is None:
        return "-"
    return "met" if ok else "NOT MET"


def text_table(rows: list[Row]) -> str:
    """A fixed-width table with wrapped cells and a rule between rows."""
    rule = "+" + "+".join("-" * (w + 2) for w in WIDTHS) + "+"
    lines = [rule, _text_line(COLUMNS), rule.replace("-", "=")]
    for row in rows:
        lines.append(_text_line(row.cells()))
        lines.append(rule)
    return "\n".join(lines)


def _text_line(cells: tuple[str, ...]) -> str:
    wrapped = [textwrap.wrap(cell, width) or [""] for cell, width in zip(cells, WIDTHS)]
    height = max(len(w) for w in wrapped)
    out = []
    for i in range(height):
        parts = [(w[i] if i < len(w) else "").ljust(width) for w, width in zip(wrapped, WIDTHS)]
        out.append("| " + " | ".join(parts) + " |")
    return "\n".join(out)


def markdown_table(rows: list[Row]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _c in COLUMNS) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in row.cells()) + " |" for row in rows]
    return "\n".join(lines)


def counts(counter, limit: int | None = None) -> str:
    """'a 3, b 2, c 1' from a Counter, most common first."""
    items = sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))
    if limit is not None and len(items) > limit:
        rest = sum(n for _k, n in items[limit:])
        items = items[:limit] + [(f"{len(counter) - limit} more", rest)]
    return ", ".join(f"{k} {n}" for k, n in items) or "none"


def rate(value: float) -> str:
    return f"{value:,.0f}"
