"""The API in-process: auth kinds, app isolation, error shapes, OpenAPI."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.storage.apps import NewKeys
from eventkit.storage.apps import create_app as create_tracked_app
from tests.inprocess import api_client, bearer


@dataclass
class Api:
    client: AsyncTestClient  # type: ignore[type-arg]
    a: NewKeys
    b: NewKeys


@pytest.fixture
async def api(settings: Settings, engine: Engine) -> AsyncIterator[Api]:
    a = create_tracked_app(engine, "app-a")
    b = create_tracked_app(engine, "app-b")
    async with api_client(settings) as client:
        yield Api(client, a, b)


def batch(name: str = "tap", n: int = 1) -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    return {
        "sent_at": now,
        "events": [
            {"event_id": str(uuid.uuid4()), "name": name, "timestamp": now, "anonymous_id": "d"}
            for _ in range(n)
        ],
    }


async def test_write_key_captures_but_cannot_read(api: Api) -> None:
    r = await api.client.post("/v1/events", json=batch(), headers=bearer(api.a.write_key))
    assert r.status_code == 200 and r.json()["accepted"] == 1
    r = await api.client.get("/v1/events", headers=bearer(api.a.write_key))
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden"
    assert "secret key" in r.json()["message"]


async def test_secret_key_reads_only_its_own_app(api: Api) -> None:
    await api.client.post("/v1/events", json=batch("in_a", 2), headers=bearer(api.a.write_key))
    await api.client.post("/v1/events", json=batch("in_b", 3), headers=bearer(api.b.write_key))
    ra = await api.client.get("/v1/events", headers=bearer(api.a.secret_key))
    rb = await api.client.get("/v1/events", headers={"X-Eventkit-Key": api.b.secret_key or ""})
    assert [e["name"] for e in ra.json()["events"]] == ["in_a", "in_a"]
    assert [e["name"] for e in rb.json()["events"]] == ["in_b"] * 3
    r = await api.client.get(
        "/v1/events", params={"name": "in_a"}, headers=bearer(api.b.secret_key)
    )
    assert r.json()["events"] == []


async def test_read_filters_and_bad_parameters(api: Api) -> None:
    await api.client.post("/v1/events", json=batch("x", 5), headers=bearer(api.a.write_key))
    r = await api.client.get(
        "/v1/events", params={"limit": 2, "since": "1h"}, headers=bearer(api.a.secret_key)
    )
    assert len(r.json()["events"]) == 2
    r = await api.client.get(
        "/v1/events", params={"since": "last tuesday"}, headers=bearer(api.a.secret_key)
    )
    assert r.status_code == 400
    assert "since" in r.json()["message"]
    r = await api.client.get("/v1/events", params={"limit": 0}, headers=bearer(api.a.secret_key))
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_request"


async def test_error_shapes(api: Api) -> None:
    r = await api.client.get("/nope")
    assert r.status_code == 404
    assert set(r.json()) == {"status", "error", "message"}
    r = await api.client.delete("/v1/events")
    assert r.status_code == 405
    r = await api.client.post("/v1/events", content=b"{not json", headers=bearer(api.a.write_key))
    assert r.status_code == 400
    assert "not valid JSON" in r.json()["message"]
    r = await api.client.post("/v1/events", json=batch(), headers=bearer("ek_write_revoked"))
    assert r.status_code == 401


async def test_openapi_lists_the_endpoints(api: Api) -> None:
    spec = (await api.client.get("/schema/openapi.json")).json()
    assert {"/v1/events", "/v1/identify", "/healthz", "/readyz", "/metrics"} <= set(spec["paths"])
    assert set(spec["paths"]["/v1/events"]) == {"get", "post"}


async def test_request_metrics_label_routes_by_template(api: Api) -> None:
    await api.client.post("/v1/events", json=batch(), headers=bearer(api.a.write_key))
    await api.client.get("/v1/flags/some-flag", headers=bearer(api.a.secret_key))
    text = (await api.client.get("/metrics")).text
    assert 'eventkit_http_requests_total{route="/v1/events",status="200"} 1.0' in text
    assert re.search(r'route="/v1/flags/\{key[^"]*\}"', text)
    assert "some-flag" not in text  # ids never become label values
