"""Horizontal bars: top lists, splits and funnel steps."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

__all__ = ["bar", "bar_table"]

_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(fraction: float, width: int) -> str:
    """A bar of ``fraction`` (0..1) of ``width`` cells, in eighths of a cell."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = round(fraction * width * 8)
    full, rest = divmod(eighths, 8)
    return ("█" * full + (_EIGHTHS[rest] if rest else "")).ljust(width)


def bar_table(
    rows: Sequence[tuple[str, float, str]], *, width: int = 24, style: str = "cyan"
) -> Table:
    """``(label, value, note)`` rows as label, bar (scaled to the largest) and note."""
    top = max((v for _, v, _ in rows), default=0.0) or 1.0
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True, overflow="ellipsis", max_width=20)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True, justify="right")
    for label, value, note in rows:
        table.add_row(label, Text(bar(value / top, width), style=style), note)
    return table
