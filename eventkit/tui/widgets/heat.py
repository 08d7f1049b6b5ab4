"""Cells of a retention heat table: the darker the green, the more users came back."""

from __future__ import annotations

from rich.color import Color
from rich.style import Style
from rich.text import Text

__all__ = ["heat_cell"]


def heat_cell(pct: float | None) -> Text:
    """``pct`` (0..100) on a background from grey-blue (0 %) to green (100 %)."""
    if pct is None:
        return Text("")
    f = min(max(pct / 100.0, 0.0), 1.0) ** 0.6  # lift small shares so they stay visible
    lo, hi = (38, 42, 52), (30, 160, 90)
    bg = Color.from_rgb(*(lo[i] + (hi[i] - lo[i]) * f for i in range(3)))
    fg = Color.from_rgb(255, 255, 255) if f < 0.75 else Color.from_rgb(10, 20, 10)
    return Text(f"{pct:5.1f}%", style=Style(bgcolor=bg, color=fg), justify="right")
