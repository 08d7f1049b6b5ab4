"""Plan modes over HTTP with mixed batches: enforce rejects violating events with
per-event errors and stores the rest; warn stores everything and counts; off does
nothing. Plan and mode changes apply without a restart."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.storage.apps import create_app
from eventkit.storage.engine import writer
from eventkit.tracking.plan import parse_plan
from eventkit.tracking.store import list_violations, push_plan, set_plan_mode
from tests.inprocess import api_client, bearer

PLAN = parse_plan(
    """
events:
  purchase:
    schema:
      type: object
      required: [price]
      properties: {price: {type: number}, currency: {type: string}}
      additionalProperties: false
  app_open: {}
"""
)


def _event(name: str | None, **props: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "name": name,
        "timestamp": datetime.now(UTC).isoformat(),
        "anonymous_id": "device-1",
        "properties": props,
    }


def _batch() -> list[dict[str, Any]]:
    return [
        _event("purchase", price=9.5, currency="EUR"),  # 0 ok
        _event("purchase", price="9.5", coupon="X"),  # 1 wrong type + unexpected
        _event("refund", amount=1),  # 2 unplanned
        _event("$screen", screen_name="home"),  # 3 reserved: allowed
        _event("app_open", cold=True),  # 4 ok, any properties
        _event(None),  # 5 invalid before the plan is checked
    ]


def _mode(engine: Engine, app_id: int, mode: str) -> None:
    with writer(engine).begin() as conn:
        set_plan_mode(conn, app_id, mode)  # type: ignore[arg-type]


def _stored(engine: Engine, app_id: int) -> list[str]:
    with engine.connect() as conn:
        return sorted(
            conn.execute(text("SELECT name FROM events WHERE app_id = :a"), {"a": app_id}).scalars()
        )


def _counts(engine: Engine, app_id: int) -> dict[tuple[str, str, str], int]:
    return {(v.event_name, v.kind, v.property): v.count for v in list_violations(engine, app_id)}


async def test_enforce_warn_and_off(settings: Settings, engine: Engine) -> None:
    keys = create_app(engine, "shop")
    push_plan(engine, keys.app_id, PLAN, "test")
    _mode(engine, keys.app_id, "enforce")
    async with api_client(settings) as client:
        r = await client.post(
            "/v1/events", json={"events": _batch()}, headers=bearer(keys.write_key)
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["accepted"] == 3
        assert [x["index"] for x in body["rejected"]] == [1, 2, 5]
        assert body["rejected"][0]["errors"] == [
            {"field": "events[1].properties.price", "message": "must be number, not string"},
            {"field": "events[1].properties.coupon", "message": "is not in the tracking plan"},
        ]
        assert body["rejected"][1]["errors"] == [
            {"field": "events[2].name", "message": "event 'refund' is not in the tracking plan"}
        ]
        assert _stored(engine, keys.app_id) == ["$screen", "app_open", "purchase"]
        expected = {
            ("purchase", "wrong_type", "price"): 1,
            ("purchase", "unexpected_property", "coupon"): 1,
            ("refund", "unplanned_event", ""): 1,
        }
        assert _counts(engine, keys.app_id) == expected

        _mode(engine, keys.app_id, "warn")
        r = await client.post(
            "/v1/events", json={"events": _batch()}, headers=bearer(keys.write_key)
        )
        assert r.json()["accepted"] == 5
        assert [x["index"] for x in r.json()["rejected"]] == [5]
        assert _counts(engine, keys.app_id) == dict.fromkeys(expected, 2)

        _mode(engine, keys.app_id, "off")
        r = await client.post(
            "/v1/events", json={"events": _batch()}, headers=bearer(keys.write_key)
        )
        assert r.json()["accepted"] == 5
        assert _counts(engine, keys.app_id) == dict.fromkeys(expected, 2)

        # A new plan version applies to the next batch, no restart.
        _mode(engine, keys.app_id, "enforce")
        plan = parse_plan("events: {refund: {}, purchase: {}}")
        push_plan(engine, keys.app_id, plan, "test")
        r = await client.post(
            "/v1/events", json={"events": _batch()}, headers=bearer(keys.write_key)
        )
        assert [x["index"] for x in r.json()["rejected"]] == [4, 5]  # app_open unplanned now


async def test_enforce_without_a_plan_allows_only_reserved_events(
    settings: Settings, engine: Engine
) -> None:
    keys = create_app(engine, "bare")
    _mode(engine, keys.app_id, "enforce")
    async with api_client(settings) as client:
        r = await client.post(
            "/v1/events", json={"events": _batch()[2:5]}, headers=bearer(keys.write_key)
        )
        ident = await client.post(
            "/v1/identify",
            json={"user_id": "u1", "anonymous_id": "device-1"},
            headers=bearer(keys.write_key),
        )
    assert [x["index"] for x in r.json()["rejected"]] == [0, 2]
    assert ident.status_code == 200, ident.text


async def test_plan_routes(settings: Settings, engine: Engine) -> None:
    keys = create_app(engine, "api")
    async with api_client(settings) as client:
        secret = bearer(keys.secret_key)
        r = await client.get("/v1/tracking-plan", headers=secret)
        assert r.json() == {"mode": "off", "version": 0, "plan": None}
        r = await client.put(
            "/v1/tracking-plan", json={"events": {"b": {}, "a": {}}}, headers=secret
        )
        assert r.json() == {"added": ["a", "b"], "removed": [], "changed": []}
        bad = await client.put("/v1/tracking-plan", json={"events": [1]}, headers=secret)
        assert bad.status_code == 400
        assert "must map event names" in bad.json()["message"]
        r = await client.get("/v1/tracking-plan", headers=secret)
        assert r.json()["version"] == 1
        assert list(r.json()["plan"]["events"]) == ["a", "b"]
        denied = await client.get("/v1/tracking-plan", headers=bearer(keys.write_key))
        assert denied.status_code == 403
        _mode(engine, keys.app_id, "warn")
        await client.post(
            "/v1/events", json={"events": [_event("c")]}, headers=bearer(keys.write_key)
        )
        r = await client.get("/v1/tracking-plan/violations", headers=secret)
        (row,) = r.json()["violations"]
        assert (row["event"], row["kind"], row["count"]) == ("c", "unplanned_event", 1)
        r = await client.get("/v1/tracking-plan/violations?kind=nope", headers=secret)
        assert r.status_code == 400
