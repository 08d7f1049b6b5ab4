"""The plugin pipeline stage: validate and enrich hooks over the real capture API."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from eventkit.api import capture as capture_api
from eventkit.config import Settings
from eventkit.ingest.pipeline import Pipeline
from eventkit.ingest.plugin_stage import plugin_stage
from eventkit.plugins.manager import EventkitPluginManager
from eventkit.storage.apps import create_app as create_tracked_app
from tests.inprocess import api_client, bearer
from tests.plugins.conftest import Use
from tests.plugins.fixtures import tagger
from tests.plugins.helpers import batch, metric, stored


def test_no_stage_without_validators_or_enrichers(settings: Settings) -> None:
    assert plugin_stage(settings, None, EventkitPluginManager()) is None
    assert all("plugin_stage" not in path for path, _, _ in Pipeline(settings).stages)


async def test_validate_enrich_drop_and_isolation(
    settings: Settings, engine: Engine, use_plugins: Use, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_plugins(tagger)
    monkeypatch.setattr(capture_api, "_client_ip", lambda request: "192.0.2.77")
    keys = create_tracked_app(engine, "plugged")
    body = batch("ok", "forbidden", "drop_me", "boom_enrich", "boom_validate")
    async with api_client(settings) as client:
        r = await client.post(
            "/v1/events",
            json=body,
            headers={**bearer(keys.write_key), "User-Agent": "MyApp/1.0 (iPhone; iOS 18.1)"},
        )
        assert r.status_code == 200, r.text
        result = r.json()
        metrics = (await client.get("/metrics")).text

    # ok, boom_enrich and boom_validate stored; drop_me acknowledged but not stored.
    assert result["accepted"] == 4
    assert result["rejected"] == [
        {
            "index": 1,
            "event_id": body["events"][1]["event_id"],
            "errors": [
                {"field": "name", "message": "is not allowed here"},
                {"field": "properties.x", "message": "is missing"},
            ],
        }
    ]
    rows = stored(engine, keys.app_id)
    assert sorted(rows) == ["boom_enrich", "boom_validate", "ok"]
    ok = rows["ok"]["properties"]
    assert ok["tagged_by"] == "tagger"
    assert ok["seen_ua"] == "MyApp/1.0 (iPhone; iOS 18.1)"
    assert ok["seen_db"] == settings.database_url.split(":", 1)[0]
    # The enricher runs before the IP stage: it saw the full address; storage has /24.
    assert ok["seen_ip"] == "192.0.2.77"
    assert rows["ok"]["ip"] == "192.0.2.0"
    # The enricher that raised left the event exactly as the client sent it.
    assert rows["boom_enrich"]["properties"] == {}
    # The validator that raised did not reject; the event was enriched and stored.
    assert rows["boom_validate"]["properties"]["tagged_by"] == "tagger"
    errors = "eventkit_plugin_errors_total"
    assert metric(metrics, errors, plugin="tagger", hook="eventkit_enrich_event") == 1
    assert metric(metrics, errors, plugin="tagger", hook="eventkit_validate_event") == 1


async def test_identify_goes_through_the_plugin_stage(
    settings: Settings, engine: Engine, use_plugins: Use
) -> None:
    use_plugins(tagger)
    keys = create_tracked_app(engine, "ident")
    async with api_client(settings) as client:
        r = await client.post(
            "/v1/identify",
            json={"user_id": "u1", "anonymous_id": "d1", "set": {"plan": "pro"}},
            headers=bearer(keys.write_key),
        )
    assert r.status_code == 200, r.text
    props = stored(engine, keys.app_id)["$identify"]["properties"]
    assert props["tagged_by"] == "tagger"
    assert props["$set"] == {"plan": "pro"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_batch_of_only_rejected_events_is_a_400(
    settings: Settings, engine: Engine, use_plugins: Use
) -> None:
    use_plugins(tagger)
    keys = create_tracked_app(engine, "all-bad")
    async with api_client(settings) as client:
        r = await client.post(
            "/v1/events", json=batch("forbidden", "forbidden"), headers=bearer(keys.write_key)
        )
    assert r.status_code == 400
    assert [x["index"] for x in r.json()["rejected"]] == [0, 1]
    assert stored(engine, keys.app_id) == {}
