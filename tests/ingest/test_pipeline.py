"""The ingest pipeline: stages see request positions, reject, drop and rewrite events."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.ingest import pipeline
from eventkit.ingest.pipeline import Batch, Pipeline, Stage
from eventkit.storage.apps import create_app as create_tracked_app
from tests.factories import make_event
from tests.inprocess import api_client, bearer


def judge(settings: Settings, engine: Engine | None) -> Stage:
    """Rejects ``bad``, drops ``secret`` and tags everything else."""

    def stage(batch: Batch) -> None:
        for i, ev in enumerate(batch.events):
            if ev.name == "bad":
                batch.reject(i, [("name", "is not in the plan")])
            elif ev.name == "secret":
                batch.drop(i)
            else:
                ev.properties = {"tagged": batch.positions[i]}

    return stage


def off(settings: Settings, engine: Engine | None) -> None:
    return None


async def test_stages_reject_drop_and_rewrite(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        pipeline,
        "STAGES",
        (f"{__name__}:off", f"{__name__}:judge", *pipeline.STAGES),
    )
    keys = create_tracked_app(engine, "piped")
    now = datetime.now(UTC).isoformat()
    names = ["ok", "bad", None, "secret", "ok2"]  # None: invalid before the pipeline
    events = [
        {"event_id": str(uuid.uuid4()), "name": n, "timestamp": now, "anonymous_id": "d"}
        for n in names
    ]
    async with api_client(settings) as client:
        r = await client.post(
            "/v1/events", json={"sent_at": now, "events": events}, headers=bearer(keys.write_key)
        )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["accepted"] == 3  # ok, ok2 stored; secret dropped but acknowledged
    assert [x["index"] for x in body["rejected"]] == [1, 2]
    assert body["rejected"][0]["event_id"] == events[1]["event_id"]
    assert body["rejected"][0]["errors"] == [{"field": "name", "message": "is not in the plan"}]
    with engine.connect() as conn:
        rows = conn.execute(
            text("select name, properties, ip from events where app_id = :a order by name"),
            {"a": keys.app_id},
        ).all()
    assert [r[0] for r in rows] == ["ok", "ok2"]
    props = [json.loads(r[1]) if isinstance(r[1], str) else r[1] for r in rows]
    assert props == [{"tagged": 0}, {"tagged": 4}]


async def test_client_ip_is_reduced_before_storage(settings: Settings) -> None:
    events = [
        make_event(1, ip="203.0.113.77"),
        make_event(1, ip="203.0.113.77"),
        make_event(1, ip="2001:db8:1234:5678::1"),
        make_event(1, ip="not-an-address"),
        make_event(1, ip=None),
    ]
    batch = Batch(app_id=1, source="native", events=events, positions=[0, 1, 2, 3, 4], rejected=[])
    out = await Pipeline(settings).run(batch)
    assert [e.ip for e in out.events] == [
        "203.0.113.0",
        "203.0.113.0",
        "2001:db8:1234::",
        None,
        None,
    ]
