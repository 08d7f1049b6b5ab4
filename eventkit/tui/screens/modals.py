"""Modal dialogs: errors, confirmations and small forms."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static, TextArea

__all__ = ["ConfirmModal", "ErrorModal", "PromptModal", "RulesModal"]


class ErrorModal(ModalScreen[None]):
    """An error message (never a traceback) and what to do next."""

    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close")]

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog error"):
            yield Label("Something went wrong", classes="dialog-title")
            yield Static(self.message, id="error-message")
            with Horizontal(classes="buttons"):
                yield Button("Close", variant="error", id="close")

    def on_button_pressed(self) -> None:
        self.dismiss(None)


class ConfirmModal(ModalScreen[bool]):
    """Ask before a change: ``y`` confirms, ``n``/escape cancels."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n,escape", "answer(False)", "No"),
    ]

    def __init__(self, title: str, detail: str) -> None:
        super().__init__()
        self.title_text = title
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.detail, id="confirm-detail")
            with Horizontal(classes="buttons"):
                yield Button("Yes (y)", variant="primary", id="yes")
                yield Button("No (n)", id="no")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class PromptModal(ModalScreen[str | None]):
    """One line of input; enter submits, escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, value: str = "", placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Input(self.value, placeholder=self.placeholder, id="prompt-input")
            yield Static("[dim]enter: OK · escape: cancel[/dim]")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class RulesModal(ModalScreen[str | None]):
    """Edit a flag's rules as JSON; ctrl+s saves (after a confirmation), escape cancels."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, key: str, rules_json: str) -> None:
        super().__init__()
        self.key = key
        self.rules_json = rules_json

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Label(f"Rules of {self.key}", classes="dialog-title")
            yield Static(
                "[dim]An ordered JSON list; the first rule whose conditions all hold decides. "
                'Condition: {"attribute": "platform", "operator": "eq", "value": "ios"}. '
                "ctrl+s: save · escape: cancel[/dim]"
            )
            yield TextArea(self.rules_json, language="json", id="rules-editor")

    def action_save(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def action_cancel(self) -> None:
        self.dismiss(None)
