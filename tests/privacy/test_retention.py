"""Retention: raw events past an app's retention are purged once rolled up and
sessionized; rollup counts stay; late events older than retention are dropped."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.aggregation import aggregate
from eventkit.capture.schema import CanonicalEvent
from eventkit.config import Settings
from eventkit.privacy.audit import list_audit
from eventkit.privacy.policy import set_privacy_settings
from eventkit.privacy.retention import purge_expired
from eventkit.sessions.job import run_sessions_job
from eventkit.storage.apps import create_app
from eventkit.storage.engine import writer
from eventkit.storage.events import EventStore
from eventkit.storage.partitions import ensure_partitions, list_partitions
from eventkit.timeutil import US_PER_DAY, US_PER_HOUR, now_us
from tests.inprocess import api_client, bearer
from tests.privacy.oracle import stored_rollups


def ev(app_id: int, ts: int, user: str, name: str = "app_open") -> CanonicalEvent:
    return CanonicalEvent(
        app_id=app_id, event_id=uuid.uuid4(), name=name, timestamp=ts, sent_at=None,
        received_at=now_us(), ts=ts, user_id=user, anonymous_id=f"dev-{user}", session_id=None,
        platform="ios", app_version="1.0", country=None, ip=None, source="native",
        properties={"screen_name": "home"}, context={},
    )  # fmt: skip


def count(engine: Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def set_retention(engine: Engine, app_id: int, days: int) -> None:
    with writer(engine).begin() as conn:
        set_privacy_settings(conn, app_id, retention_days=days)


async def test_purge_keeps_rollups_and_drops_late_old_events(
    settings: Settings, engine: Engine
) -> None:
    keys = create_app(engine, "shop")
    other = create_app(engine, "kept")  # no retention: untouched
    now = now_us()
    events = [
        ev(keys.app_id, now - d * US_PER_DAY - u * US_PER_HOUR, f"u{u}")
        for d in range(1, 45)
        for u in range(3)
    ]
    EventStore(engine).write([*events, ev(other.app_id, now - 60 * US_PER_DAY, "x")])
    agg = settings.aggregation.model_copy(update={"settle_seconds": 0.0})
    run_sessions_job(engine, settings, now=now)
    aggregate(engine, agg)
    set_retention(engine, keys.app_id, 30)
    cutoff = now - 30 * US_PER_DAY
    # Arrives after the jobs ran: not rolled up yet, so it must wait for them.
    EventStore(engine).write([ev(keys.app_id, now - 40 * US_PER_DAY, "late")])
    rollups = stored_rollups(engine, keys.app_id)
    old = sum(1 for e in events if e.ts < cutoff)

    result = purge_expired(engine, settings, now=now)

    assert result.events == {keys.app_id: old}
    assert result.sessions[keys.app_id] > 0
    q = "SELECT COUNT(*) FROM events WHERE app_id = :a AND ts < :c"
    assert count(engine, q, a=keys.app_id, c=cutoff) == 1  # the late one, not rolled up
    assert count(engine, "SELECT COUNT(*) FROM events WHERE app_id = :a", a=other.app_id) == 1
    assert count(engine, "SELECT COUNT(*) FROM events WHERE app_id = :a AND ts >= :c",
                 a=keys.app_id, c=cutoff) == len(events) - old  # fmt: skip
    EventStore(engine).merge_keys()  # the newest keys are in memory until a merge
    assert count(engine, "SELECT COUNT(*) FROM event_keys WHERE app_id = :a", a=keys.app_id) == (
        len(events) - old + 1
    )
    assert count(engine, "SELECT COUNT(*) FROM event_sessions e LEFT JOIN events v "
                 "ON v.id = e.event_pk WHERE v.id IS NULL") == 0  # fmt: skip
    assert count(engine, "SELECT COUNT(*) FROM sessions WHERE app_id = :a AND last_event_at < :c",
                 a=keys.app_id, c=cutoff) == 0  # fmt: skip
    after = stored_rollups(engine, keys.app_id)
    for table in ("rollup_counts", "rollup_user_days", "rollup_first_days"):
        assert after[table] == rollups[table], table
    assert set(after["rollup_events_by_name"]) == {
        r for r in rollups["rollup_events_by_name"] if r[2] >= cutoff
    }
    (entry,) = list_audit(engine, keys.app_id)
    assert (entry.action, entry.details["events"]) == ("retention_purge", old)

    # Once rolled up and sessionized, the late event goes too; its count stays.
    run_sessions_job(engine, settings, now=now)
    aggregate(engine, agg)
    assert purge_expired(engine, settings, now=now).events == {keys.app_id: 1}
    assert count(engine, q, a=keys.app_id, c=cutoff) == 0
    assert count(engine, "SELECT COUNT(*) FROM rollup_user_days WHERE actor = 'late'") == 2

    async with api_client(settings) as client:
        wire = [
            {"event_id": str(uuid.uuid4()), "name": "app_open", "user_id": "u9",
             "timestamp": (now - d * US_PER_DAY) / 1e3}
            for d in (40, 31, 29, 1)
        ]  # fmt: skip
        r = await client.post("/v1/events", json={"events": wire}, headers=bearer(keys.write_key))
        assert r.json()["accepted"] == 4
    assert count(engine, "SELECT COUNT(*) FROM events WHERE user_id = 'u9'") == 2


def test_partitions_expired_for_every_app_are_dropped_whole(
    settings: Settings, engine: Engine
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite events are not partitioned")
    a = create_app(engine, "short")
    b = create_app(engine, "long")
    now = now_us()
    ancient = now - 400 * US_PER_DAY
    assert ensure_partitions(engine, 0, at_us=ancient)  # that month gets its partition
    month = next(p for p in list_partitions(engine) if p.start <= ancient < p.end)
    old = [ev(app, ancient + u * US_PER_HOUR, f"u{u}") for app in (a.app_id, b.app_id)
           for u in range(4)]  # fmt: skip
    mid = [ev(app, now - 45 * US_PER_DAY, "m") for app in (a.app_id, b.app_id)]
    new = [ev(app, now - US_PER_DAY, "n") for app in (a.app_id, b.app_id)]
    EventStore(engine).write([*old, *mid, *new])
    agg = settings.aggregation.model_copy(update={"settle_seconds": 0.0})
    run_sessions_job(engine, settings, now=now)
    aggregate(engine, agg)
    rollups = {app: stored_rollups(engine, app) for app in (a.app_id, b.app_id)}

    # An app that keeps everything keeps every partition: only rows go.
    set_retention(engine, a.app_id, 30)
    kept = purge_expired(engine, settings, now=now)
    assert kept.partitions == []
    assert kept.events == {a.app_id: 5}  # its 4 ancient and 1 mid events, as rows

    set_retention(engine, b.app_id, 60)
    result = purge_expired(engine, settings, now=now)

    assert result.partitions == [month.name]
    assert result.events == {b.app_id: 4}  # b's mid event is within 60 days
    assert month.name not in {p.name for p in list_partitions(engine)}
    left = {(e.app_id, e.event_id) for e in [*mid[1:], *new]}
    with engine.connect() as conn:
        stored = {tuple(r) for r in conn.execute(text("SELECT app_id, event_id FROM events"))}
        keys = {tuple(r) for r in conn.execute(text("SELECT app_id, event_id FROM event_keys"))}
    assert stored == left and keys == left
    assert count(engine, "SELECT COUNT(*) FROM event_sessions e LEFT JOIN events v "
                 "ON v.id = e.event_pk WHERE v.id IS NULL") == 0  # fmt: skip
    assert count(engine, "SELECT COUNT(*) FROM rollup_events_by_name WHERE ts < :c",
                 c=now - 60 * US_PER_DAY) == 0  # fmt: skip
    for app in (a.app_id, b.app_id):  # the counting rollups stay
        after = stored_rollups(engine, app)
        for table in ("rollup_counts", "rollup_user_days", "rollup_first_days"):
            assert after[table] == rollups[app][table], (app, table)
