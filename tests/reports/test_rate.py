"""Events per minute (the dashboard's live chart) on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from eventkit.reports.rate import US_PER_MINUTE, events_per_minute
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from tests.tui.conftest import new_event
from tests.tui.dataset import END


def test_counts_per_minute_with_empty_minutes(engine: Engine) -> None:
    create_app(engine, "demo")
    since = END - 5 * US_PER_MINUTE
    offsets = [0, 1, 59 * 1_000_000, 2 * US_PER_MINUTE + 5, 4 * US_PER_MINUTE + 59_999_999]
    events = [new_event("tap", f"u{i}", since + o) for i, o in enumerate(offsets)]
    events.append(new_event("tap", "early", since - 1))  # before the window
    events.append(new_event("tap", "late", END))  # until is exclusive
    EventStore(engine).write(events)
    assert events_per_minute(engine, 1, since, END) == [3, 0, 1, 0, 1]
    assert events_per_minute(engine, 1, since, END + 1) == [3, 0, 1, 0, 1, 1]
    assert events_per_minute(engine, 2, since, END) == [0, 0, 0, 0, 0]
