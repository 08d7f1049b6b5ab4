"""The top bar: product, app, and the screens with their number keys."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

__all__ = ["SCREENS", "NavBar"]

#: (mode, title) of every top-level screen, in key order 1..6.
SCREENS: tuple[tuple[str, str], ...] = (
    ("overview", "Overview"),
    ("live", "Live"),
    ("explorer", "Explorer"),
    ("reports", "Reports"),
    ("flags", "Flags"),
    ("experiments", "Experiments"),
)


class NavBar(Static):
    """``eventkit · demo   1 Overview  2 Live …`` with the current screen highlighted."""

    def __init__(self, current: str, app_name: str | None) -> None:
        super().__init__(self._text(current, app_name))

    @staticmethod
    def _text(current: str, app_name: str | None) -> Text:
        t = Text()
        t.append(" eventkit ", style="bold")
        t.append(f"· {app_name or 'no app'} ", style="dim")
        t.append("  ")
        for i, (mode, title) in enumerate(SCREENS, 1):
            if mode == current:
                t.append(f" {i} {title} ", style="bold reverse")
            else:
                t.append(f" {i} ", style="dim")
                t.append(f"{title} ")
        return t
