"""The event store: exactly-once writes, batch-internal duplicates, profiles, queries."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from eventkit.capture.schema import CanonicalEvent
from eventkit.storage.apps import create_app
from eventkit.storage.events import (
    EventFilter,
    EventStore,
    count_events,
    last_event_id,
    query_events,
)
from eventkit.storage.models import EventKey
from eventkit.storage.users import ProfileOp, get_profile
from eventkit.timeutil import now_us
from tests.factories import make_event


def test_write_stores_each_event_once(engine: Engine) -> None:
    app = create_app(engine, "one")
    store = EventStore(engine)
    events = [make_event(app.app_id, ts=now_us() + i) for i in range(50)]
    assert store.write(events) == [True] * 50
    # A retry of the same batch stores nothing and says so per event.
    assert store.write(events) == [False] * 50
    assert count_events(engine) == 50
    store.merge_keys()  # SQLite holds the newest keys in memory until a merge
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(EventKey)).scalar_one() == 50
    assert store.write(events) == [False] * 50


def test_duplicates_inside_one_batch_count_once(engine: Engine) -> None:
    app = create_app(engine, "one")
    e = make_event(app.app_id)
    other = make_event(app.app_id)
    assert EventStore(engine).write([e, other, e]) == [True, True, False]
    assert count_events(engine) == 2


def test_same_event_id_in_two_apps_is_two_events(engine: Engine) -> None:
    a = create_app(engine, "a")
    b = create_app(engine, "b")
    eid = uuid.uuid4()
    store = EventStore(engine)
    assert store.write(
        [make_event(a.app_id, event_id=eid), make_event(b.app_id, event_id=eid)]
    ) == [True, True]
    assert count_events(engine, [a.app_id]) == 1
    assert count_events(engine, [b.app_id]) == 1


def test_round_trip_keeps_every_field(engine: Engine) -> None:
    app = create_app(engine, "one")
    e = make_event(
        app.app_id,
        user_id="u-1",
        session_id="s-1",
        country="DE",
        ip="10.0.0.0",
        sent_at=123,
        properties={"price": 9.99, "tags": ["a", "b"], "ok": True},
    )
    EventStore(engine).write([e])
    [got] = query_events(engine, EventFilter(app_id=app.app_id))
    assert got.event_id == e.event_id
    assert (got.name, got.user_id, got.session_id, got.country, got.ip, got.sent_at) == (
        e.name,
        "u-1",
        "s-1",
        "DE",
        "10.0.0.0",
        123,
    )
    assert got.properties == {"price": 9.99, "tags": ["a", "b"], "ok": True}
    assert got.context == {"os": {"name": "iOS"}}
    assert (got.timestamp, got.received_at, got.ts) == (e.timestamp, e.received_at, e.ts)


def test_query_filters_and_order(engine: Engine) -> None:
    app = create_app(engine, "one")
    base = now_us()
    events = [
        make_event(app.app_id, name="a" if i % 2 else "b", ts=base + i * 1000, user_id=f"u{i % 3}")
        for i in range(12)
    ]
    EventStore(engine).write(events)
    got = query_events(engine, EventFilter(app_id=app.app_id, name="a"), limit=100)
    assert [g.ts for g in got] == sorted((e.ts for e in events if e.name == "a"), reverse=True)
    got = query_events(
        engine, EventFilter(app_id=app.app_id, user_id="u1", since=base + 3000, until=base + 10_000)
    )
    expected = {
        e.event_id for e in events if e.user_id == "u1" and base + 3000 <= e.ts < base + 10_000
    }
    assert {g.event_id for g in got} == expected
    newest = last_event_id(engine, app.app_id)
    assert query_events(engine, EventFilter(after_id=newest)) == []


def test_identify_sets_traits_once_per_event(engine: Engine) -> None:
    app = create_app(engine, "one")
    store = EventStore(engine)

    def identify(
        set_: dict[str, object], once: dict[str, object]
    ) -> tuple[CanonicalEvent, ProfileOp]:
        ev = make_event(app.app_id, name="$identify", user_id="u1", anonymous_id="d1")
        return ev, ProfileOp(
            app_id=app.app_id,
            user_id="u1",
            event_id=ev.event_id,
            at=ev.ts,
            anonymous_id="d1",
            set=set_,
            set_once=once,
        )

    e1, op1 = identify({"plan": "free", "name": "Ada"}, {"first_platform": "ios"})
    store.write([e1], [op1])
    e2, op2 = identify({"plan": "pro"}, {"first_platform": "android", "signup": "2026"})
    store.write([e2], [op2])
    store.write([e2], [op2])  # a retried identify changes nothing
    profile = get_profile(engine, app.app_id, "u1")
    assert profile is not None
    assert profile["traits"] == {
        "plan": "pro",
        "name": "Ada",
        "first_platform": "ios",
        "signup": "2026",
    }
    assert profile["anonymous_ids"] == ["d1"]
    assert get_profile(engine, app.app_id, "nobody") is None
