"""Erasure racing the background jobs, and counts surviving shutdown: a sessions run
that read the user's events before the erasure plans again instead of writing them
back; violation counts still in memory are written when the server stops."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.privacy.erasure import delete_user
from eventkit.sessions import job
from eventkit.sessions.job import rebuild_sessions, run_sessions_job
from eventkit.storage.apps import create_app
from eventkit.storage.engine import writer
from eventkit.storage.events import EventStore
from eventkit.timeutil import now_us
from eventkit.tracking.store import list_violations, set_plan_mode
from tests.factories import make_event
from tests.inprocess import api_client, bearer


def test_sessions_run_planned_before_an_erasure_plans_again(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The erasure leaves a hole in the arrival ids; with the default settle_seconds the
    # job would wait a minute before it passes it (it could be an uncommitted write).
    settings = settings.model_copy(
        update={"sessions": settings.sessions.model_copy(update={"settle_seconds": 0.0})}
    )
    keys = create_app(engine, "shop")
    t = now_us() - 3_600_000_000
    gone = [make_event(keys.app_id, user_id="u-gone", anonymous_id="d1", ts=t) for _ in range(3)]
    kept = [make_event(keys.app_id, user_id="u-kept", anonymous_id="d2", ts=t) for _ in range(3)]
    EventStore(engine).write(gone + kept)
    original = job._plan
    erased: list[Any] = []

    def plan_then_erase(*args: Any, **kw: Any) -> Any:
        out = original(*args, **kw)  # the run has read u-gone's events...
        if not erased:  # ...and the erasure commits before it writes
            erased.append(delete_user(engine, settings, keys.app_id, "u-gone", actor="t"))
        return out

    monkeypatch.setattr(job, "_plan", plan_then_erase)
    run_sessions_job(engine, settings)
    with engine.connect() as conn:
        orphans = conn.execute(
            text(
                "SELECT COUNT(*) FROM event_sessions m LEFT JOIN events e ON e.id = m.event_pk "
                "WHERE e.id IS NULL"
            )
        ).scalar_one()
        users = conn.execute(text("SELECT DISTINCT user_id FROM sessions")).scalars().all()
    assert erased and orphans == 0
    assert users == ["u-kept"]
    monkeypatch.setattr(job, "_plan", original)
    with engine.connect() as conn:
        before = conn.execute(text("SELECT * FROM sessions ORDER BY id")).all()
    rebuild_sessions(engine, settings)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT * FROM sessions ORDER BY id")).all() == before


async def test_violation_counts_are_written_at_shutdown(settings: Settings, engine: Engine) -> None:
    slow = settings.model_copy(
        update={"tracking": settings.tracking.model_copy(update={"flush_seconds": 3600.0})}
    )
    keys = create_app(engine, "shop")
    with writer(engine).begin() as conn:
        set_plan_mode(conn, keys.app_id, "warn")
    ev = {"event_id": "5740026a-7354-4fd8-8cd7-253000656dc3", "name": "unplanned",
          "timestamp": now_us() / 1000, "anonymous_id": "d"}  # fmt: skip
    async with api_client(slow) as client:
        r = await client.post("/v1/events", json={"events": [ev]}, headers=bearer(keys.write_key))
        assert r.json()["accepted"] == 1
        assert list_violations(engine, keys.app_id) == []  # still in memory
    (row,) = list_violations(engine, keys.app_id)
    assert (row.event_name, row.kind, row.count) == ("unplanned", "unplanned_event", 1)
