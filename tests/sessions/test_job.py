"""The sessions job against real databases (SQLite and, marked, PostgreSQL)."""

from __future__ import annotations

import msgspec
import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.sessions.job import (
    close_idle_sessions,
    rebuild_sessions,
    run_sessions_job,
    sessionize_pending,
)
from eventkit.sessions.timeline import client_session_uuid
from eventkit.storage.apps import create_app
from eventkit.storage.models import APPS, EVENT_SESSIONS
from tests.sessions.helpers import MIN, T0, ev, sessions, store

LATER = T0 + 10 * 24 * 60 * MIN  # "now", long after every event


def test_gap_splits_and_aggregates(engine: Engine, settings: Settings) -> None:
    app = create_app(engine, "a").app_id
    store(
        engine,
        [
            ev(app, 0, name="$screen", screen="home"),
            ev(app, 1, name="$screen", screen="cart", user="u1"),
            ev(app, 2),
            ev(app, 40, name="$screen", screen="home"),  # 38 min gap > 30
        ],
    )
    res = run_sessions_job(engine, settings, now=LATER)
    assert res.events == 4
    first, second = sessions(engine)
    assert (first["event_count"], first["screen_count"]) == (3, 2)
    assert (first["entry_screen"], first["exit_screen"]) == ("home", "cart")
    assert first["duration_us"] == 2 * MIN and first["user_id"] == "u1"
    assert not first["bounced"] and not first["is_open"]
    assert first["ended_at"] == T0 + 2 * MIN
    assert second["bounced"] and second["event_count"] == 1
    assert first["platform"] == "ios" and first["app_version"] == "1.0"


def test_late_event_joins_two_sessions_then_max_length_cuts(
    engine: Engine, settings: Settings
) -> None:
    app = create_app(engine, "a").app_id
    store(engine, [ev(app, 0), ev(app, 40)])
    sessionize_pending(engine, settings, now=LATER)
    assert len(sessions(engine)) == 2
    store(engine, [ev(app, 20)])  # arrives late, bridges the gap
    sessionize_pending(engine, settings, now=LATER)
    (joined,) = sessions(engine)
    assert joined["event_count"] == 3
    with engine.connect() as conn:
        mapped = {r.session_id for r in conn.execute(select(EVENT_SESSIONS))}
    assert mapped == {joined["id"]}


def test_client_session_ids_are_honoured(engine: Engine, settings: Settings) -> None:
    app = create_app(engine, "a").app_id
    store(engine, [ev(app, 0, session="s1"), ev(app, 300, session="s1"), ev(app, 1)])
    sessionize_pending(engine, settings, now=LATER)
    rows = sessions(engine)
    client = [s for s in rows if s["client_session_id"] == "s1"]
    assert len(client) == 1 and client[0]["event_count"] == 2
    assert client[0]["id"] == client_session_uuid(app, "dev-1", "s1")
    assert len(rows) == 2


def test_per_app_and_platform_timeouts(engine: Engine, settings: Settings) -> None:
    app = create_app(engine, "a").app_id
    with engine.begin() as conn:
        conn.execute(
            update(APPS)
            .where(APPS.c.id == app)
            .values(settings={"sessions": {"platforms": {"android": {"inactivity_minutes": 5}}}})
        )
    store(engine, [ev(app, 0, platform="android"), ev(app, 10, platform="android")])
    store(engine, [ev(app, 0, device="d2"), ev(app, 10, device="d2")])
    sessionize_pending(engine, settings, now=LATER)
    counts = sorted((s["platform"], s["event_count"]) for s in sessions(engine))
    assert counts == [("android", 1), ("android", 1), ("ios", 2)]


def test_expiry_closes_idle_sessions(engine: Engine, settings: Settings) -> None:
    app = create_app(engine, "a").app_id
    store(engine, [ev(app, 0), ev(app, 5, device="d2")])
    sessionize_pending(engine, settings, now=T0 + 10 * MIN)
    assert all(s["is_open"] and s["ended_at"] is None for s in sessions(engine))
    assert close_idle_sessions(engine, settings, now=T0 + 32 * MIN) == 1
    first, second = sessions(engine)
    assert not first["is_open"] and first["ended_at"] == T0
    assert second["is_open"]
    assert close_idle_sessions(engine, settings, now=T0 + 36 * MIN) == 1


def test_session_end_closes_and_next_event_starts_new(engine: Engine, settings: Settings) -> None:
    app = create_app(engine, "a").app_id
    store(engine, [ev(app, 0), ev(app, 1, name="$session_end"), ev(app, 2)])
    sessionize_pending(engine, settings, now=T0 + 3 * MIN)
    first, second = sessions(engine)
    assert not first["is_open"] and first["event_count"] == 2
    assert second["is_open"]


def test_rebuild_and_idempotent_reruns(engine: Engine, settings: Settings) -> None:
    app = create_app(engine, "a").app_id
    store(engine, [ev(app, m) for m in (0, 10, 50, 51)])
    sessionize_pending(engine, settings, now=LATER)
    before = sessions(engine)
    assert sessionize_pending(engine, settings, now=LATER).events == 0
    rebuild_sessions(engine, settings, now=LATER)
    assert sessions(engine) == before


def test_events_without_device_or_user_are_skipped(engine: Engine, settings: Settings) -> None:
    app = create_app(engine, "a").app_id
    store(engine, [ev(app, 0, device=None), ev(app, 1, device=None, user="u9")])
    res = sessionize_pending(engine, settings, now=LATER)
    assert res.events == 2
    (only,) = sessions(engine)
    assert only["device_key"] == "user:u9"


def test_watermark_waits_for_a_young_hole_in_arrival_ids() -> None:
    from types import SimpleNamespace as Row

    from eventkit.sessions.job import _advance

    rows = [Row(id=1, received_at=0), Row(id=2, received_at=0), Row(id=5, received_at=100)]
    assert _advance(rows, 0, now=110, settle_us=50) == 2  # ids 3-4 may still commit
    assert _advance(rows, 0, now=200, settle_us=50) == 3  # old enough: rolled back
    assert _advance(rows[2:], 0, now=110, settle_us=50) == 0


def test_late_events_inside_the_latest_session_are_absorbed_without_reload(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eventkit.sessions import recompute

    app = create_app(engine, "a").app_id
    store(engine, [ev(app, m) for m in (0, 10, 20)] + [ev(app, 1, session="c")])
    store(engine, [ev(app, 9, session="c")])
    sessionize_pending(engine, settings, now=LATER)
    reloads: list[object] = []
    real = recompute._mapped_events
    monkeypatch.setattr(recompute, "_mapped_events", lambda *a: reloads.append(a) or real(*a))
    # Overlapping flushes: inside the latest sessions, and after them.
    store(engine, [ev(app, 5), ev(app, 15), ev(app, 25), ev(app, 5, session="c")])
    sessionize_pending(engine, settings, now=LATER)
    assert reloads == []
    server, client = sorted(sessions(engine), key=lambda s: s["client_session_id"] or "")
    assert server["event_count"] == 6 and client["event_count"] == 3
    # A screen view inside a session may change its entry screen: that one is recomputed.
    store(engine, [ev(app, 12, name="$screen", screen="late")])
    sessionize_pending(engine, settings, now=LATER)
    assert len(reloads) == 1
    (server,) = [s for s in sessions(engine) if s["client_session_id"] is None]
    assert (server["event_count"], server["entry_screen"]) == (7, "late")
    with engine.connect() as conn:
        mapped = [r.session_id for r in conn.execute(select(EVENT_SESSIONS))]
    assert None not in mapped and len(mapped) == 10


def test_screen_names_follow_one_definition(engine: Engine, settings: Settings) -> None:
    """``$screen_name``, else ``screen_name`` (what the demo and many apps send), else
    ``screen``: the entry/exit screens and each event's stored screen agree with paths."""
    app = create_app(engine, "a").app_id
    events = [
        ev(app, 0, name="$screen"),
        ev(app, 1, name="$screen"),
        ev(app, 2, name="$screen"),
        ev(app, 3, name="$screen"),
        ev(app, 4, name="tap"),
    ]
    props: list[dict[str, object]] = [
        {"screen_name": "home"},
        {"$screen_name": "cart", "screen_name": "ignored", "screen": "ignored"},
        {"screen": 7},
        {"title": "no screen"},
        {"screen_name": "not a screen view"},
    ]
    store(
        engine,
        [msgspec.structs.replace(e, properties=p) for e, p in zip(events, props, strict=True)],
    )
    run_sessions_job(engine, settings, now=LATER)
    (only,) = sessions(engine)
    assert (only["entry_screen"], only["exit_screen"], only["screen_count"]) == ("home", None, 4)
    with engine.connect() as conn:
        rows = conn.execute(
            select(EVENT_SESSIONS.c.name, EVENT_SESSIONS.c.screen).order_by(EVENT_SESSIONS.c.ts)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("$screen", "home"), ("$screen", "cart"), ("$screen", "7"), ("$screen", None),
        ("tap", None),
    ]  # fmt: skip
