"""Time partitions of events on PostgreSQL; SQLite stays one table."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.storage.apps import create_app
from eventkit.storage.engine import make_engine
from eventkit.storage.events import EventFilter, EventStore, count_events, query_events
from eventkit.storage.migrate import upgrade
from eventkit.storage.partitions import (
    drop_partitions_before,
    ensure_partitions,
    list_partitions,
    month_bounds,
)
from eventkit.timeutil import now_us
from tests.factories import make_event
from tests.storage.old_schema import write_at_0001


def us(*ymd: int) -> int:
    return int(datetime(*ymd, tzinfo=UTC).timestamp()) * 1_000_000  # type: ignore[misc]


def test_month_bounds_cover_the_calendar_month() -> None:
    assert month_bounds(2026, 12) == (us(2026, 12, 1), us(2027, 1, 1))
    assert month_bounds(2024, 2) == (us(2024, 2, 1), us(2024, 3, 1))


def test_sqlite_is_not_partitioned(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    assert list_partitions(engine) == []
    assert ensure_partitions(engine, 3) == []
    assert drop_partitions_before(engine, now_us()) == 0


def partition_of_rows(engine: Engine) -> Counter[str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT tableoid::regclass::text FROM events")).scalars()
        return Counter(rows)


def test_events_land_in_monthly_partitions_and_retention_drops_whole_months(
    engine: Engine,
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    app = create_app(engine, "a")
    now = now_us()
    parts = list_partitions(engine)
    assert parts, "the migration creates partitions around now"
    assert any(p.start <= now < p.end for p in parts)
    assert parts[-1].start > now  # some created ahead
    old = us(2001, 5, 17)  # older than every partition: default partition
    store = EventStore(engine)
    recent = [make_event(app.app_id, ts=now) for _ in range(3)]
    ancient = [make_event(app.app_id, ts=old) for _ in range(2)]
    assert store.write(recent + ancient) == [True] * 5
    current = next(p for p in parts if p.start <= now < p.end)
    assert partition_of_rows(engine) == {current.name: 3, "events_default": 2}
    # Creating the old month's partition moves its rows out of the default partition.
    assert ensure_partitions(engine, 0, at_us=old) == ["events_p200105"]
    assert partition_of_rows(engine) == {current.name: 3, "events_p200105": 2}
    # Dedup is global: a retry of an event in another partition is a duplicate.
    assert store.write(ancient[:1]) == [False]
    assert drop_partitions_before(engine, us(2001, 6, 1)) == 1
    assert count_events(engine) == 3
    kept = {str(e.event_id) for e in query_events(engine, EventFilter(), limit=100)}
    assert kept == {str(e.event_id) for e in recent}
    # A cutoff inside the current month keeps that month (whole partitions only).
    assert drop_partitions_before(engine, now) == 0
    assert count_events(engine) == 3
    assert ensure_partitions(engine, 3) == []  # already there


def test_the_migration_moves_existing_events_into_partitions(settings: Settings) -> None:
    """0001 with events in it, then 0005_partitions: every row kept, in its month, and
    the arrival sequence continues."""
    engine = make_engine(settings)
    try:
        upgrade(engine, "0001")
        app = create_app(engine, "a")
        old = make_event(app.app_id, ts=us(2026, 1, 15))
        new = make_event(app.app_id)
        write_at_0001(engine, [old, new])
        upgrade(engine)
        if engine.dialect.name != "postgresql":
            assert list_partitions(engine) == []
            assert count_events(engine) == 2
            return
        rows = partition_of_rows(engine)
        assert rows["events_p202601"] == 1
        assert sum(rows.values()) == 2
        names = [p.name for p in list_partitions(engine)]
        assert names[0] == "events_p202601"  # back to the oldest event's month
        later = make_event(app.app_id)
        assert EventStore(engine).write([later, old]) == [True, False]  # dedup kept
        events = query_events(engine, EventFilter(), limit=10, newest_first=False)
        assert [e.event_id for e in events] == [old.event_id, new.event_id, later.event_id]
        assert events[2].id is not None and events[1].id is not None
        assert events[2].id > events[1].id
    finally:
        engine.dispose()
