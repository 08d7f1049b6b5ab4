"""A stat card: a label over a big number and a small note."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

__all__ = ["StatCard"]


class StatCard(Static):
    """One headline figure."""

    def __init__(self, label: str, *, id: str) -> None:
        super().__init__(id=id, classes="stat")
        self.label = label
        self.set_value("…")

    def set_value(self, value: str, note: str = "") -> None:
        """Show ``value`` (and an optional ``note`` under it)."""
        t = Text()
        t.append(self.label + "\n", style="dim")
        t.append(value, style="bold")
        if note:
            t.append("\n" + note, style="dim")
        self.update(t)
