"""``users delete``: afterwards no table holds the user's ids or traits, rollups equal
an independent computation over the remaining raw events, sessions equal a rebuild,
an audit entry names the user only by hash, and late events of the user are dropped."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.engine import Engine

from eventkit.aggregation import aggregate
from eventkit.aggregation.rollups import dims_for
from eventkit.capture.schema import CanonicalEvent
from eventkit.config import Settings
from eventkit.privacy.audit import list_audit
from eventkit.privacy.erasure import delete_user
from eventkit.privacy.policy import subject_hash
from eventkit.sessions.job import rebuild_sessions, run_sessions_job
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from eventkit.storage.models import SESSIONS, metadata
from eventkit.storage.types import json_dumps
from eventkit.storage.users import ProfileOp
from eventkit.timeutil import US_PER_DAY, US_PER_HOUR, now_us
from tests.inprocess import api_client, bearer
from tests.privacy.oracle import expected_rollups, raw_rows, stored_rollups

ALICE = "u-alice-91"
PHONE, TABLET = "d-alice-phone", "d-alice-tablet"
EMAIL = "alice91@example.com"
NEEDLES = (ALICE, PHONE, TABLET, EMAIL)
MIN = 60_000_000


def ev(
    app_id: int, ts: int, name: str, user: str | None, device: str | None, **props: Any
) -> CanonicalEvent:
    return CanonicalEvent(
        app_id=app_id, event_id=uuid.uuid4(), name=name, timestamp=ts, sent_at=None,
        received_at=ts, ts=ts, user_id=user, anonymous_id=device, session_id=None,
        platform="ios" if device != TABLET else "android", app_version="1.2", country="DE",
        ip="203.0.113.0", source="native", properties=props, context={"device": {"id": device}},
    )  # fmt: skip


def seed(engine: Engine, app_id: int, start: int) -> None:
    """Ten days of traffic: Alice on two devices (anonymous first, then identified),
    Bob on his phone, both on a shared kiosk, and flag exposures."""
    events: list[CanonicalEvent] = []
    for day in range(10):
        t = start + day * US_PER_DAY + 9 * US_PER_HOUR
        events += [
            ev(app_id, t, "$screen", None, PHONE, screen_name="welcome"),
            ev(app_id, t + MIN, "app_open", ALICE, PHONE, screen_name="home"),
            ev(app_id, t + 2 * MIN, "purchase", ALICE, PHONE, email=EMAIL, price=3),
            ev(app_id, t + 3 * MIN, "app_open", "u-bob-22", "d-bob-phone", screen_name="home"),
            ev(app_id, t + 4 * MIN, "purchase", "u-bob-22", "d-bob-phone", price=5),
        ]
        if day % 3 == 0:
            events += [
                ev(app_id, t + 30 * MIN, "app_open", ALICE, TABLET, screen_name="home"),
                ev(app_id, t + 40 * MIN, "$feature_flag_called", ALICE, TABLET,
                   **{"$feature_flag": "new_checkout", "$feature_flag_response": "test"}),
                ev(app_id, t + 50 * MIN, "app_open", ALICE, "d-kiosk", screen_name="kiosk"),
                ev(app_id, t + 55 * MIN, "app_open", "u-bob-22", "d-kiosk", screen_name="kiosk"),
            ]  # fmt: skip
    ops = [
        ProfileOp(app_id, ALICE, events[1].event_id, events[1].ts, PHONE,
                  set={"email": EMAIL, "plan": "pro"}),
        ProfileOp(app_id, "u-bob-22", events[3].event_id, events[3].ts, "d-bob-phone",
                  set={"plan": "free"}),
    ]  # fmt: skip
    EventStore(engine).write(events, ops)


def holders(engine: Engine, needles: tuple[str, ...]) -> dict[str, int]:
    """Rows of EVERY table (from the SQLModel metadata) whose any value mentions a needle."""
    found: dict[str, int] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                blob = " ".join(
                    json_dumps(v) if isinstance(v, dict | list) else str(v) for v in row
                )
                if any(n in blob for n in needles):
                    found[table.name] = found.get(table.name, 0) + 1
    return found


def session_rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        rows = conn.execute(select(SESSIONS).order_by(SESSIONS.c.id)).all()
    return [tuple(r) for r in rows]


async def test_delete_user_leaves_nothing_and_rollups_stay_exact(
    settings: Settings, engine: Engine
) -> None:
    keys = create_app(engine, "shop")
    app_id = keys.app_id
    start = now_us() - 12 * US_PER_DAY
    start -= start % US_PER_DAY
    seed(engine, app_id, start)
    agg = settings.aggregation.model_copy(update={"settle_seconds": 0.0})
    clock = start + 11 * US_PER_DAY
    run_sessions_job(engine, settings, now=clock)
    aggregate(engine, agg)
    # Late arrivals not yet rolled up or sessionized when the erasure runs.
    late = start + 2 * US_PER_DAY + 10 * US_PER_HOUR
    EventStore(engine).write(
        [
            ev(app_id, late, "app_open", ALICE, PHONE),
            ev(app_id, late + US_PER_HOUR, "app_open", "u-bob-22", "d-bob-phone"),
        ]
    )
    before = holders(engine, NEEDLES)
    assert {"events", "sessions", "event_sessions", "user_profiles", "identity_links"} <= set(
        before
    )
    bob_events = len([r for r in raw_rows(engine, app_id) if r["user_id"] == "u-bob-22"])

    result = delete_user(engine, settings, app_id, ALICE, actor="dpo@example.org")

    assert result.anonymous_ids == 3  # phone, tablet, kiosk
    assert result.deleted["events"] == 10 * 3 + 4 * 3 + 1
    assert result.deleted["user_profiles"] == 1
    assert holders(engine, NEEDLES) == {}
    rows = raw_rows(engine, app_id)
    assert len([r for r in rows if r["user_id"] == "u-bob-22"]) == bob_events
    assert all(r["user_id"] != ALICE for r in rows)

    # The rollups, once the job folded in the late arrivals, equal a computation over
    # the remaining raw events.
    aggregate(engine, agg)
    props = [d[5:] for d in dims_for(settings.aggregation) if d.startswith("prop:")]
    assert stored_rollups(engine, app_id) == expected_rollups(
        raw_rows(engine, app_id), app_id, props
    )

    # Sessions (the shared kiosk was sessionized again without Alice) equal a rebuild.
    run_sessions_job(engine, settings, now=clock)
    after = session_rows(engine)
    rebuild_sessions(engine, settings, now=clock)
    assert session_rows(engine) == after

    (entry,) = list_audit(engine, app_id)
    assert entry.action == "user_delete"
    assert entry.subject == subject_hash(app_id, ALICE)
    assert entry.actor == "dpo@example.org"
    assert entry.details["deleted"]["events"] == result.deleted["events"]


async def test_late_events_of_a_deleted_user_are_dropped(
    settings: Settings, engine: Engine
) -> None:
    keys = create_app(engine, "shop")
    seed(engine, keys.app_id, now_us() - 12 * US_PER_DAY)
    delete_user(engine, settings, keys.app_id, ALICE, actor="test")
    now = now_us()

    def wire(user: str | None, device: str | None) -> dict[str, Any]:
        return {"event_id": str(uuid.uuid4()), "name": "app_open", "timestamp": now / 1e3,
                "user_id": user, "anonymous_id": device}  # fmt: skip

    async with api_client(settings) as client:
        r = await client.post(
            "/v1/events",
            json={"events": [wire(ALICE, None), wire(None, PHONE), wire("u-bob-22", "d-bob-phone"),
                             wire(None, TABLET)]},
            headers=bearer(keys.write_key),
        )  # fmt: skip
        assert r.json()["accepted"] == 4  # acknowledged, so the SDK forgets them
        ident = await client.post(
            "/v1/identify",
            json={"user_id": ALICE, "anonymous_id": "d-alice-new", "set": {"email": EMAIL}},
            headers=bearer(keys.write_key),
        )
        assert ident.status_code == 200, ident.text
    assert holders(engine, (*NEEDLES, "d-alice-new")) == {}
    with engine.connect() as conn:
        names = conn.execute(
            text("SELECT user_id FROM events WHERE received_at >= :t"), {"t": now}
        ).scalars()
        assert list(names) == ["u-bob-22"]


async def test_http_erase_and_export(settings: Settings, engine: Engine) -> None:
    keys = create_app(engine, "shop")
    seed(engine, keys.app_id, now_us() - 12 * US_PER_DAY)
    run_sessions_job(engine, settings)
    async with api_client(settings) as client:
        denied = await client.delete(f"/v1/users/{ALICE}", headers=bearer(keys.write_key))
        assert denied.status_code == 403
        r = await client.get(f"/v1/users/{ALICE}/export", headers=bearer(keys.secret_key))
        assert r.status_code == 200, r.text
        data = r.json()
        assert data["profile"]["traits"] == {"email": EMAIL, "plan": "pro"}
        assert sorted(data["anonymous_ids"]) == ["d-alice-phone", "d-alice-tablet", "d-kiosk"]
        assert len(data["events"]) == 10 * 3 + 4 * 3
        assert len(data["flag_exposures"]) == 4
        assert data["flag_exposures"][0]["$feature_flag"] == "new_checkout"
        assert data["sessions"] and data["deleted"] is False
        r = await client.delete(f"/v1/users/{ALICE}", headers=bearer(keys.secret_key))
        assert r.status_code == 200, r.text
        assert r.json()["deleted"]["events"] == 42
        r = await client.get(f"/v1/users/{ALICE}/export", headers=bearer(keys.secret_key))
        assert r.json()["events"] == [] and r.json()["deleted"] is True
    actions = [e.action for e in list_audit(engine, keys.app_id)]
    assert actions == ["user_export", "user_delete", "user_export"]
