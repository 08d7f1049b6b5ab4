"""Live events: a streaming tail with filters, pause and the full event JSON."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import Input, Static

from eventkit.errors import EventKitError
from eventkit.storage.models import Event
from eventkit.tui.data import EventSearch
from eventkit.tui.screens.base import DashboardScreen
from eventkit.tui.widgets.events import EventsView

__all__ = ["LiveScreen"]

#: Most events kept on screen.
KEEP = 500


class LiveScreen(DashboardScreen):
    """New events appear at the top as they arrive (polled in a worker)."""

    MODE = "live"
    AUTO_FOCUS = "#live-events DataTable"
    BINDINGS = [
        Binding("p", "pause", "Pause/resume"),
        Binding("slash", "focus_filter", "Filter"),
        Binding("c", "clear_filters", "Clear filters"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.paused = False
        self.search = EventSearch()
        self.last_id = 0

    def body(self) -> ComposeResult:
        with Horizontal(classes="filters"):
            yield Input(placeholder="event name", id="f-name")
            yield Input(placeholder="user id", id="f-user")
            yield Input(placeholder="property: key=value", id="f-prop")
        yield Static("", id="live-status", classes="status")
        yield EventsView(id="live-events", empty="no events match yet: they appear here as "
                         "they arrive (run `eventkit demo` or send one, see help: ?)")  # fmt: skip

    @property
    def view(self) -> EventsView:
        """The events table and detail pane."""
        return self.query_one(EventsView)

    def on_mount(self) -> None:
        self.refresh_data()
        if self.dash.live_seconds > 0:
            self.set_interval(self.dash.live_seconds, self.poll)
        self.view.table.focus()

    def refresh_data(self) -> None:
        """Load the newest events matching the filters (and restart the tail there)."""
        if not self.data.ready:
            self._status()
            return
        search = self.search
        self.load(lambda: self.data.events(search, limit=KEEP), self._loaded, group="live")

    def _loaded(self, events: list[Event]) -> None:
        self.last_id = max((e.id or 0 for e in events), default=self.last_id)
        self.view.set_events(events)
        self._status()

    def poll(self) -> None:
        """Fetch events that arrived since the last poll (skipped while paused)."""
        if self.paused or not self.data.ready:
            return
        search, after = self.search, self.last_id
        self.load(lambda: self.data.events(search, after_id=after, limit=1000), self._arrived,
                  group="live-poll")  # fmt: skip

    def _arrived(self, events: list[Event]) -> None:
        if not events:
            return
        self.last_id = max(self.last_id, *(e.id or 0 for e in events))
        self.view.set_events([*reversed(events), *self.view.events][:KEEP])
        self._status()

    def _status(self) -> None:
        state = "[b yellow]⏸ paused[/]" if self.paused else "[b green]● live[/]"
        parts = [state, f"{len(self.view.events)} events shown"]
        s = self.search
        active = [f"name={s.name}" if s.name else "", f"user={s.user}" if s.user else "",
                  s.prop]  # fmt: skip
        if any(active):
            parts.append("filters: " + " ".join(a for a in active if a))
        self.query_one("#live-status", Static).update("  ·  ".join(parts))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        search = EventSearch(
            name=self.query_one("#f-name", Input).value,
            user=self.query_one("#f-user", Input).value,
            prop=self.query_one("#f-prop", Input).value,
        )
        try:
            search.prop_filter()
        except EventKitError as exc:
            self.dash.show_error(str(exc))
            return
        self.search = search
        self.refresh_data()
        self.view.table.focus()

    def action_pause(self) -> None:
        """Stop or restart following new events."""
        self.paused = not self.paused
        self._status()

    def action_focus_filter(self) -> None:
        """Jump to the first filter."""
        self.query_one("#f-name", Input).focus()

    def action_clear_filters(self) -> None:
        """Remove every filter."""
        for i in self.query(Input):
            i.value = ""
        self.search = EventSearch()
        self.refresh_data()
