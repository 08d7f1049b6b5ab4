"""The help screen: every screen and its keys, taken from the live bindings."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

__all__ = ["HelpScreen"]

_INTRO = (
    "eventkit dashboard shows one app's events, reports, flags and experiments, read "
    "straight from the database in your config. Numbers come from the same services as "
    "`eventkit report`, `eventkit sessions`, `eventkit flags` and `eventkit experiments`."
)


_KEY_NAMES = {"question_mark": "?", "slash": "/", "escape": "esc", "space": "space"}


def _keys(bindings: list[BindingType]) -> list[tuple[str, str]]:
    out = []
    for b in bindings:
        if isinstance(b, Binding) and b.description:
            keys = [_KEY_NAMES.get(k.strip(), k.strip()) for k in b.key.split(",")]
            out.append((" / ".join(keys), b.description))
    return out


class HelpScreen(ModalScreen[None]):
    """Keys of the app and of each screen."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def __init__(self, sections: list[tuple[str, list[BindingType]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold cyan", no_wrap=True)
        table.add_column()
        for title, bindings in self.sections:
            table.add_row(Text(title, style="bold underline"), "")
            for key, what in _keys(bindings):
                table.add_row(key, what)
            table.add_row("", "")
        with VerticalScroll(classes="dialog wide help"):
            yield Label("Help", classes="dialog-title")
            yield Static(_INTRO, classes="help-intro")
            yield Static(table)
            yield Static("[dim]escape or ? closes this help[/dim]")
