"""The flag endpoints in-process: evaluate, ETag/304, definitions, OFREP, exposures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.flags.evaluator import Evaluator
from eventkit.flags.exposure import EXPOSURE_EVENT
from eventkit.flags.spec import Condition, FlagSpec, Rule, Variant, default_variants
from eventkit.flags.store import create_flag, spec_from_doc
from eventkit.storage.apps import NewKeys
from eventkit.storage.apps import create_app as create_tracked_app
from eventkit.storage.events import EventFilter, query_events
from tests.inprocess import api_client


@dataclass
class Api:
    client: AsyncTestClient  # type: ignore[type-arg]
    keys: NewKeys
    engine: Engine

    def auth(self, kind: str = "write") -> dict[str, str]:
        key = self.keys.write_key if kind == "write" else self.keys.secret_key
        return {"Authorization": f"Bearer {key}"}

    async def exposures(self, n: int) -> list[Any]:
        """Exposure rows, once there are ``n`` of them (they are written in the background)."""
        rows: list[Any] = []
        for _ in range(100):
            flt = EventFilter(app_id=self.keys.app_id, name=EXPOSURE_EVENT)
            rows = query_events(self.engine, flt)
            if len(rows) >= n:
                break
            await asyncio.sleep(0.05)
        return rows


def _flags(app_id: int, engine: Engine) -> None:
    create_flag(
        engine,
        app_id,
        FlagSpec(
            key="new-ui",
            enabled=True,
            variants=default_variants("boolean"),
            rules=[Rule([Condition("platform", "eq", "ios")])],
        ),
        actor="t",
    )
    create_flag(
        engine,
        app_id,
        FlagSpec(
            key="color",
            type="string",
            enabled=True,
            variants=[Variant("blue", "blue", 50), Variant("green", "green", 50)],
            default_variant="blue",
            off_variant="blue",
            rules=[Rule()],
        ),
        actor="t",
    )
    create_flag(
        engine,
        app_id,
        FlagSpec(
            key="quiet",
            enabled=True,
            variants=default_variants("boolean"),
            default_variant="on",
            exposures=False,
        ),
        actor="t",
    )


@pytest.fixture
async def api(settings: Settings, engine: Engine) -> AsyncIterator[Api]:
    keys = create_tracked_app(engine, "app")
    _flags(keys.app_id, engine)
    async with api_client(settings) as client:
        yield Api(client, keys, engine)


async def test_evaluate_all_flags_with_etag(api: Api) -> None:
    body: dict[str, Any] = {"user_id": "u1", "context": {"platform": "ios"}}
    r = await api.client.post("/v1/flags/evaluate", json=body, headers=api.auth())
    assert r.status_code == 200, r.text
    flags = r.json()["flags"]
    assert flags["new-ui"] == {"value": True, "variant": "on", "reason": "TARGETING_MATCH"}
    assert flags["color"]["reason"] == "SPLIT"
    assert flags["quiet"]["reason"] == "STATIC"
    etag = r.headers["etag"]
    again = await api.client.post(
        "/v1/flags/evaluate", json=body, headers={**api.auth(), "If-None-Match": etag}
    )
    assert again.status_code == 304
    assert again.headers["etag"] == etag
    other = await api.client.post(
        "/v1/flags/evaluate",
        json={"user_id": "u1", "attributes": {"platform": "android"}},
        headers={**api.auth(), "If-None-Match": etag},
    )
    assert other.status_code == 200
    assert other.json()["flags"]["new-ui"]["reason"] == "DEFAULT"


async def test_evaluate_errors(api: Api) -> None:
    r = await api.client.post(
        "/v1/flags/evaluate", json={"flags": ["color", "nope"]}, headers=api.auth()
    )
    flags = r.json()["flags"]
    assert flags["color"]["error"] == "TARGETING_KEY_MISSING"
    assert flags["nope"]["error"] == "FLAG_NOT_FOUND"
    bad = await api.client.post("/v1/flags/evaluate", content=b"[1]", headers=api.auth())
    assert bad.status_code == 400
    assert bad.json()["error"] == "invalid_request"
    assert (await api.client.post("/v1/flags/evaluate", json={})).status_code == 401


async def test_exposures_are_recorded_once_per_day(api: Api) -> None:
    for _ in range(3):
        await api.client.post("/v1/flags/evaluate", json={"user_id": "u7"}, headers=api.auth())
    await api.exposures(2)
    await asyncio.sleep(0.3)
    rows = await api.exposures(2)
    got = sorted(
        (e.properties["$feature_flag"], e.properties["$feature_flag_variant"]) for e in rows
    )
    # quiet has exposures off; new-ui and color are exposed once each despite 3 calls.
    assert [k for k, _ in got] == ["color", "new-ui"]
    assert all(e.user_id == "u7" and e.source == "flags" for e in rows)


async def test_definitions_need_the_secret_key(api: Api) -> None:
    assert (await api.client.get("/v1/flags/definitions", headers=api.auth())).status_code == 403
    r = await api.client.get("/v1/flags/definitions", headers=api.auth("secret"))
    assert r.status_code == 200
    data = r.json()
    specs = [spec_from_doc(d) for d in data["flags"]]
    local = Evaluator(specs, data["version"])
    assert local.evaluate("new-ui", {"platform": "ios"}).value is True
    cached = await api.client.get(
        "/v1/flags/definitions", headers={**api.auth("secret"), "If-None-Match": r.headers["etag"]}
    )
    assert cached.status_code == 304


async def test_ofrep_single_and_bulk(api: Api) -> None:
    ok = await api.client.post(
        "/ofrep/v1/evaluate/flags/new-ui",
        json={"context": {"targetingKey": "u1", "platform": "ios"}},
        headers=api.auth(),
    )
    assert ok.status_code == 200
    assert ok.json()["value"] is True
    assert ok.json()["reason"] == "TARGETING_MATCH"
    nf = await api.client.post("/ofrep/v1/evaluate/flags/nope", json={}, headers=api.auth())
    assert nf.status_code == 404
    assert nf.json() == {
        "key": "nope",
        "errorCode": "FLAG_NOT_FOUND",
        "errorDetails": "no flag 'nope' in this app",
    }
    missing = await api.client.post(
        "/ofrep/v1/evaluate/flags/color", json={"context": {}}, headers=api.auth()
    )
    assert (missing.status_code, missing.json()["errorCode"]) == (400, "TARGETING_KEY_MISSING")
    parse = await api.client.post(
        "/ofrep/v1/evaluate/flags/color", content=b"{", headers=api.auth()
    )
    assert (parse.status_code, parse.json()["errorCode"]) == (400, "PARSE_ERROR")
    invalid = await api.client.post(
        "/ofrep/v1/evaluate/flags/color", json={"context": [1]}, headers=api.auth()
    )
    assert (invalid.status_code, invalid.json()["errorCode"]) == (400, "INVALID_CONTEXT")
    bulk = await api.client.post(
        "/ofrep/v1/evaluate/flags", json={"context": {}}, headers=api.auth()
    )
    assert bulk.status_code == 200
    by_key = {f["key"]: f for f in bulk.json()["flags"]}
    assert by_key["color"]["errorCode"] == "TARGETING_KEY_MISSING"
    assert by_key["quiet"]["value"] is True
    same = await api.client.post(
        "/ofrep/v1/evaluate/flags",
        json={"context": {}},
        headers={**api.auth(), "If-None-Match": bulk.headers["etag"]},
    )
    assert same.status_code == 304
    bad = await api.client.post("/ofrep/v1/evaluate/flags", content=b"nope", headers=api.auth())
    assert (bad.status_code, bad.json()["errorCode"]) == (400, "PARSE_ERROR")
    assert (await api.client.post("/ofrep/v1/evaluate/flags", json={})).status_code == 401
    await asyncio.sleep(0)


async def test_admin_endpoints_audit_the_key(api: Api) -> None:
    secret = api.auth("secret")
    assert (await api.client.get("/v1/flags", headers=api.auth())).status_code == 403
    listed = (await api.client.get("/v1/flags", headers=secret)).json()["flags"]
    assert [f["key"] for f in listed] == ["color", "new-ui", "quiet"]
    body = {
        "type": "number",
        "enabled": True,
        "default_variant": "ten",
        "off_variant": "zero",
        "variants": [{"key": "ten", "value": 10, "weight": 1}, {"key": "zero", "value": 0}],
    }
    created = await api.client.put("/v1/flags/limit", json=body, headers=secret)
    assert created.status_code == 200, created.text
    assert (created.json()["version"], created.json()["salt"]) == (1, "limit")
    body["enabled"] = False
    replaced = await api.client.put("/v1/flags/limit", json=body, headers=secret)
    assert replaced.json()["version"] == 2
    read = await api.client.get("/v1/flags/limit", headers=secret)
    assert read.json()["enabled"] is False
    hist = (await api.client.get("/v1/flags/limit/history", headers=secret)).json()["history"]
    assert [h["action"] for h in hist] == ["create", "replace"]
    assert hist[0]["actor"] == "key:" + (api.keys.secret_key or "")[:16]
    bad = await api.client.put(
        "/v1/flags/limit",
        json={"type": "number", "variants": [{"key": "x", "value": "text", "weight": 1}]},
        headers=secret,
    )
    assert bad.status_code == 400
    assert "has a str value" in bad.json()["message"]
    unknown = await api.client.put("/v1/flags/limit", json={"colour": 1}, headers=secret)
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_request")
    missing = await api.client.get("/v1/flags/nope/history", headers=secret)
    assert missing.status_code == 404


async def test_evaluate_accepts_the_event_context_shape(api: Api) -> None:
    body = {"anonymous_id": "d1", "context": {"os": {"name": "iOS", "version": "17.2"}}}
    r = await api.client.post("/v1/flags/evaluate", json=body, headers=api.auth())
    assert r.json()["flags"]["new-ui"]["reason"] == "TARGETING_MATCH"


async def test_ofrep_configuration(api: Api) -> None:
    r = await api.client.get("/ofrep/v1/configuration", headers=api.auth())
    assert r.status_code == 200
    caps = r.json()["capabilities"]
    assert caps["cacheInvalidation"]["polling"] == {"enabled": True, "minPollingIntervalMs": 1000}
    again = await api.client.get(
        "/ofrep/v1/configuration", headers={**api.auth(), "If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304
