"""Pick another app: the whole dashboard then shows that app."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from eventkit.storage.apps import AppInfo

__all__ = ["AppPicker"]


class AppPicker(ModalScreen[AppInfo | None]):
    """The apps with their event counts; enter picks, escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, apps: list[AppInfo], current: int | None) -> None:
        super().__init__()
        self.apps = apps
        self.current = current

    def compose(self) -> ComposeResult:
        options = [
            Option(f"{a.name}  ({a.event_count or 0:,} events)"
                   + ("  · shown now" if a.id == self.current else ""), id=str(a.id))
            for a in self.apps
        ]  # fmt: skip
        with Vertical(classes="dialog"):
            yield Label("Show which app?", classes="dialog-title")
            yield OptionList(*options, id="apps")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(next(a for a in self.apps if str(a.id) == event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)
