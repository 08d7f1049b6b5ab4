"""An events table with a detail pane showing the highlighted event's full JSON."""

from __future__ import annotations

from collections.abc import Sequence

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static

from eventkit.storage.models import Event
from eventkit.tui.format import EVENT_COLUMNS, event_json, event_row

__all__ = ["EventsView"]


class EventsView(Horizontal):
    """Events (newest first) on the left, the highlighted one as JSON on the right."""

    def __init__(self, *, id: str, empty: str) -> None:
        super().__init__(id=id, classes="events-view")
        self.events: list[Event] = []
        self.empty = empty

    def compose(self) -> ComposeResult:
        table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True)
        for label, width in EVENT_COLUMNS:
            table.add_column(label, width=width)
        yield table
        with VerticalScroll(classes="detail"):
            yield Static(self.empty, classes="detail-body")

    @property
    def table(self) -> DataTable[str]:
        """The events table."""
        return self.query_one(DataTable)

    @property
    def current(self) -> Event | None:
        """The highlighted event."""
        row = self.table.cursor_row
        return self.events[row] if 0 <= row < len(self.events) else None

    def set_events(self, events: Sequence[Event]) -> None:
        """Show ``events``, keeping the highlighted event highlighted if still there."""
        keep = self.current.id if self.current is not None else None
        self.events = list(events)
        table = self.table
        table.clear()
        table.add_rows([event_row(e) for e in self.events])
        index = next((i for i, e in enumerate(self.events) if e.id == keep), 0)
        if self.events:
            table.move_cursor(row=index, animate=False)
        self._detail()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._detail()

    def _detail(self) -> None:
        body = self.query_one(".detail-body", Static)
        e = self.current
        if e is None:
            body.update(self.empty)
        else:
            body.update(Syntax(event_json(e), "json", theme="ansi_dark", word_wrap=True))
