"""Exact deduplication with time-bucketed keys and the SQLite in-memory tail: retries
across merges, restarts, other writers, failed commits, deletions and the migration."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.errors import StorageError
from eventkit.storage.apps import create_app
from eventkit.storage.dedup import (
    BUCKET_US,
    LEGACY_BUCKET,
    SERVER_TIME_WINDOW_DAYS,
    bucket_of,
    bucket_sql,
    probe_buckets,
)
from eventkit.storage.engine import make_engine
from eventkit.storage.events import EventStore, count_events
from eventkit.storage.migrate import upgrade
from eventkit.storage.models import EVENT_KEYS
from eventkit.timeutil import US_PER_DAY, now_us
from tests.factories import make_event
from tests.storage.old_schema import write_at_0001

NOW = now_us()


def client_event(app_id: int, timestamp: int, **kw: object) -> object:
    """An event with a client time (``timestamp`` differs from ``received_at``)."""
    fields: dict[str, object] = {"timestamp": timestamp, "received_at": NOW, "ts": timestamp}
    fields.update(kw)
    return make_event(app_id, **fields)


def stored_keys(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(EVENT_KEYS)).scalar_one())


def test_buckets() -> None:
    minute = 29_000_000 * BUCKET_US
    assert bucket_of(minute + 5, NOW) == bucket_of(minute + BUCKET_US - 1, NOW) == 29_000_000
    assert bucket_of(minute + BUCKET_US, NOW) == 29_000_001
    assert probe_buckets(minute + 5, NOW) == (29_000_000,)
    # No client time: a bucket per arrival day, found for SERVER_TIME_WINDOW_DAYS back.
    day = bucket_of(NOW, NOW)
    assert LEGACY_BUCKET < day < 0
    assert bucket_of(NOW + US_PER_DAY, NOW + US_PER_DAY) == day - 1
    later = NOW + SERVER_TIME_WINDOW_DAYS * US_PER_DAY
    assert day in probe_buckets(later, later)
    assert day not in probe_buckets(later + US_PER_DAY, later + US_PER_DAY)
    assert len(probe_buckets(later, later)) == SERVER_TIME_WINDOW_DAYS + 1


def test_bucket_sql_agrees_with_python(engine: Engine) -> None:
    cases = [
        (NOW, NOW),
        (NOW - 7, NOW),
        (0, 5),
        (BUCKET_US - 1, 0),
        (-1, 0),
        (-BUCKET_US - 1, 0),
        (-5, -5),
        (946_684_800_000_000, 946_684_800_000_001),
    ]
    with engine.connect() as conn:
        for t, r in cases:
            got = conn.execute(
                text(f"SELECT {bucket_sql(':t', ':r')}").bindparams(t=t, r=r)
            ).scalar_one()
            assert got == bucket_of(t, r), (t, r)


def test_retries_stay_duplicates_across_merges_and_restarts(engine: Engine) -> None:
    app = create_app(engine, "a").app_id
    store = EventStore(engine, memory_keys=30)  # merges every ~30 keys
    batches = [[client_event(app, NOW - 1000 * (10 * b + i)) for i in range(10)] for b in range(8)]
    for batch in batches:
        assert store.write(batch) == [True] * 10
    if engine.dialect.name == "sqlite":
        assert 30 <= stored_keys(engine) < 80  # some merged, the newest in memory
    for batch in batches:  # in the tail and in event_keys alike
        assert store.write(batch) == [False] * 10
    restarted = EventStore(engine)  # rebuilds its tail from events
    for batch in batches:
        assert restarted.write(list(reversed(batch))) == [False] * 10
    assert count_events(engine) == 80


def test_other_writers_are_seen(engine: Engine) -> None:
    """Two stores on one database (the server's writer and, say, `eventkit demo`):
    each sees what the other stored, merged or not."""
    app = create_app(engine, "a").app_id
    one, two = EventStore(engine, memory_keys=25), EventStore(engine, memory_keys=1000)
    events = [client_event(app, NOW - i * 1_000_000) for i in range(60)]
    for k in range(0, 60, 10):
        writer, other = (one, two) if k % 20 else (two, one)
        assert writer.write(events[k : k + 10]) == [True] * 10
        assert other.write(events[k : k + 10]) == [False] * 10
    assert one.write(events) == [False] * 60
    assert two.write(events) == [False] * 60
    assert count_events(engine) == 60


def test_a_failed_commit_leaves_dedup_exact(engine: Engine) -> None:
    app = create_app(engine, "a").app_id
    store = EventStore(engine, memory_keys=5)
    first = [client_event(app, NOW - i) for i in range(3)]
    assert store.write(first) == [True] * 3
    bad = client_event(app, NOW - 100, name=None)  # NOT NULL violation: nothing stored
    with pytest.raises(StorageError):
        store.write([client_event(app, NOW - 50), *first, bad])
    assert store.write([*first, client_event(app, NOW - 60)]) == [False, False, False, True]
    assert count_events(engine) == 4


def test_time_is_part_of_the_key(engine: Engine) -> None:
    """The same event id with another client minute is another event (an SDK reusing
    ids); within the same minute it is a duplicate."""
    app = create_app(engine, "a").app_id
    eid = uuid.uuid4()
    minute = (NOW // BUCKET_US - 10) * BUCKET_US
    store = EventStore(engine)
    assert store.write([client_event(app, minute + 1, event_id=eid)]) == [True]
    assert store.write([client_event(app, minute + 59_000_000, event_id=eid)]) == [False]
    assert store.write([client_event(app, minute + BUCKET_US, event_id=eid)]) == [True]


def test_old_client_times_are_found_after_merges(engine: Engine) -> None:
    """A late event (offline device) is keyed by its own old minute."""
    app = create_app(engine, "a").app_id
    store = EventStore(engine, memory_keys=10)
    old = [client_event(app, NOW - 30 * US_PER_DAY - i * BUCKET_US) for i in range(12)]
    assert store.write(old) == [True] * 12
    store.write([client_event(app, NOW - i) for i in range(12)])  # forces a merge
    assert EventStore(engine).write(old) == [False] * 12


def test_events_without_client_time_dedup_within_the_window(engine: Engine) -> None:
    app = create_app(engine, "a").app_id
    store = EventStore(engine, memory_keys=2)
    eid = uuid.uuid4()

    def arrival(day: int) -> object:
        at = NOW + day * US_PER_DAY
        return make_event(app, event_id=eid, timestamp=at, received_at=at, ts=at)

    assert store.write([arrival(0)]) == [True]
    assert store.write([arrival(0)]) == [False]
    for day in (1, 3, SERVER_TIME_WINDOW_DAYS):
        assert store.write([arrival(day)]) == [False], day
        assert EventStore(engine).write([arrival(day)]) == [False], day
    # Beyond the window a resent event without a client time is stored again.
    assert store.write([arrival(SERVER_TIME_WINDOW_DAYS + 1)]) == [True]


def test_deleting_an_unmerged_event_keeps_its_key(settings: Settings, engine: Engine) -> None:
    """Erasure deletes events but keeps their keys, also for keys still in memory."""
    app = create_app(engine, "a").app_id
    store = EventStore(engine)
    events = [client_event(app, NOW - i) for i in range(4)]
    assert store.write(events) == [True] * 4
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM events WHERE app_id = :a"), {"a": app})
    assert count_events(engine) == 0
    assert EventStore(engine).write(events) == [False] * 4
    assert store.write(events) == [False] * 4


@pytest.mark.parametrize("target", ["0001"])
def test_the_migration_buckets_existing_keys(settings: Settings, target: str) -> None:
    """A database written before buckets: every key keeps deduplicating, including the
    key of an event that is gone (erased before the upgrade)."""
    engine = make_engine(settings)
    try:
        upgrade(engine, target)
        app = create_app(engine, "a").app_id
        kept = [client_event(app, NOW - i * BUCKET_US) for i in range(5)]
        no_time = make_event(app)
        erased = client_event(app, NOW - 99)
        write_at_0001(engine, [*kept, no_time, erased])
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM events WHERE ts = :t"), {"t": erased.ts})
        upgrade(engine)
        with engine.connect() as conn:
            rows = conn.execute(select(EVENT_KEYS.c.bucket, EVENT_KEYS.c.event_id)).all()
        buckets = {eid: b for b, eid in rows}
        assert buckets[erased.event_id] == LEGACY_BUCKET
        for e in (*kept, no_time):
            assert buckets[e.event_id] == bucket_of(e.timestamp, e.received_at)
        store = EventStore(engine)
        assert store.write([*kept, no_time, erased]) == [False] * 7
        assert store.write([client_event(app, NOW - 5)]) == [True]
        assert count_events(engine) == 7
    finally:
        engine.dispose()
