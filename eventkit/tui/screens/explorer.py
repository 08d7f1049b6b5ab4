"""Explorer: search events by name, user, time range and property; open a user's or a
session's timeline."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Button, Input, Static

from eventkit.errors import EventKitError
from eventkit.storage.models import Event
from eventkit.tui.data import SCAN, EventSearch
from eventkit.tui.screens.base import DashboardScreen
from eventkit.tui.screens.timeline import TimelineScreen, session_summary, user_summary
from eventkit.tui.widgets.events import EventsView

__all__ = ["ExplorerScreen"]

LIMIT = 500


class ExplorerScreen(DashboardScreen):
    """A search form over the events table."""

    MODE = "explorer"
    AUTO_FOCUS = "#x-events DataTable"
    BINDINGS = [
        Binding("slash", "focus_search", "Search"),
        Binding("u", "user", "User timeline"),
        Binding("s", "session", "Session timeline"),
        Binding("r", "reload", "Search again"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.search = EventSearch()

    def body(self) -> ComposeResult:
        with Horizontal(classes="filters"):
            yield Input(placeholder="event name", id="x-name")
            yield Input(placeholder="user id", id="x-user")
            yield Input(placeholder="since: 2h, 7d, 2026-06-01", id="x-since")
            yield Input(placeholder="until", id="x-until")
            yield Input(placeholder="property: key=value", id="x-prop")
            yield Button("Search", id="x-go", variant="primary")
        yield Static("", id="x-status", classes="status")
        yield EventsView(id="x-events", empty="no events match: loosen the filters "
                         "(enter in any field searches)")  # fmt: skip

    @property
    def view(self) -> EventsView:
        """The results and detail pane."""
        return self.query_one(EventsView)

    def on_mount(self) -> None:
        self.refresh_data()

    def refresh_data(self) -> None:
        if not self.data.ready:
            return
        search = self.search
        self.load(lambda: self.data.events(search, limit=LIMIT), self._found, group="explorer")

    def _found(self, events: list[Event]) -> None:
        self.view.set_events(events)
        more = " (the newest; narrow the search for older ones)" if len(events) >= LIMIT else ""
        if self.search.prop.strip():
            more += f" · the property filter looked at the newest {SCAN:,} other matches"
        self.query_one("#x-status", Static).update(
            f"{len(events)} events{more}  ·  u: user timeline  ·  s: session timeline"
        )

    def _submit(self) -> None:
        def value(name: str) -> str:
            return self.query_one(f"#x-{name}", Input).value

        search = EventSearch(value("name"), value("user"), value("since"), value("until"),
                             value("prop"))  # fmt: skip
        try:
            search.prop_filter()
        except EventKitError as exc:
            self.dash.show_error(str(exc))
            return
        self.search = search
        self.refresh_data()
        self.view.table.focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self._submit()

    def action_focus_search(self) -> None:
        """Jump to the search form."""
        self.query_one("#x-name", Input).focus()

    def _open(self, title: tuple[str, list[str], list[tuple[str, ...]]]) -> None:
        self.app.push_screen(TimelineScreen(*title))

    def action_user(self) -> None:
        """Open the highlighted event's user (or device) timeline."""
        e = self.view.current
        if e is None:
            return
        who = e.user_id or e.anonymous_id
        if who is None:
            self.dash.show_error("this event has neither a user_id nor an anonymous_id")
            return
        data = self.data
        self.load(lambda: user_summary(data.user(who)), self._open, group="timeline")

    def action_session(self) -> None:
        """Open the highlighted event's session timeline."""
        e = self.view.current
        if e is None:
            return
        if not e.session_id:
            self.dash.show_error(
                "this event has no session id; sessions are computed by `eventkit serve`'s "
                "sessions job (`eventkit sessions list` shows them)"
            )
            return
        sid, data = e.session_id, self.data

        def fetch() -> Any:
            return session_summary(*data.session(sid))

        self.load(fetch, self._open, group="timeline")
