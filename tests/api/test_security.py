"""Security claims of docs/security.md, checked on every route the app serves.

The routes are enumerated from the running app (plugins' routes included), so a new
endpoint is covered the day it is added: app B's secret key never reads app A's data,
a write key only captures and evaluates flags, no key gets nothing, and hostile text
(SQL) is stored and queried as data.
"""

from __future__ import annotations

import inspect
import json
import re
import uuid
from datetime import UTC, datetime

from litestar.testing import AsyncTestClient
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.storage import apps as apps_module
from eventkit.storage.apps import create_app as create_tracked_app
from tests.conftest import make_settings
from tests.inprocess import api_client, bearer

#: Endpoints that need no key at all (operations and the API schema).
PUBLIC = {"/healthz", "/readyz", "/metrics"}
#: What a write key may call (docs/security.md); everything else needs the secret key.
WRITE_KEY_ROUTES = {
    ("POST", "/v1/events"),
    ("POST", "/v1/identify"),
    ("POST", "/v1/flags/evaluate"),
    ("POST", "/ofrep/v1/evaluate/flags/{key}"),
    ("POST", "/ofrep/v1/evaluate/flags"),
    ("GET", "/ofrep/v1/configuration"),
}
#: The vendor SDK protocols (docs/integration_guide.md) capture and evaluate flags with
#: the write key, except PostHog's local-evaluation definitions (secret key).
VENDOR_PREFIXES = ("/segment/", "/posthog/", "/amplitude/", "/mixpanel/")
VENDOR_SECRET_ROUTES = {"/posthog/flags/definitions", "/posthog/api/feature_flag/local_evaluation"}


def write_key_may_call(method: str, path: str) -> bool:
    """What docs/security.md lets a write key call."""
    if (method, path) in WRITE_KEY_ROUTES:
        return True
    return path.startswith(VENDOR_PREFIXES) and path not in VENDOR_SECRET_ROUTES


MARK = "alpha7f3"  # app A's ids and names (requests for B name them too, and may echo them)
SECRET = "zq9secret"  # appears only inside app A's stored data, never in a request for B
PARAMS = {"key": f"flag-{MARK}", "name": "trends", "session_id": f"sess-{MARK}"}
QUERY = {
    "user_id": f"user-{MARK}",
    "anonymous_id": f"dev-{MARK}",
    "name": f"evt_{MARK}",
    "event": f"evt_{MARK}",
    "app": "app-a",
    "app_id": "1",
    "breakdown": "screen_name",
    "by": "screen_name",
}
FLAG = {
    "type": "boolean",
    "enabled": True,
    "default_variant": "on",
    "off_variant": "off",
    "description": SECRET,
    "variants": [{"key": "on", "value": True, "weight": 1}, {"key": "off", "value": False}],
}


def routes(client: AsyncTestClient) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    out = []
    for route in client.app.routes:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        if path.startswith("/schema"):
            continue
        # The web dashboard's routes take members' sign-ins and share links, not keys:
        # tests/web/test_access.py walks them for every principal.
        if any(h.opt.get("eventkit_web") for h in getattr(route, "route_handlers", [])):
            continue
        for method in sorted(route.methods - {"OPTIONS", "HEAD"}):
            out.append((method, path))
    return out


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PARAMS.get(m.group(1), MARK), path)


async def seed_app_a(client: AsyncTestClient, write: str, secret: str) -> None:  # type: ignore[type-arg]
    now = datetime.now(UTC).isoformat()
    events = [
        {
            "event_id": str(uuid.uuid4()),
            "name": f"evt_{MARK}",
            "timestamp": now,
            "anonymous_id": f"dev-{MARK}",
            "user_id": f"user-{MARK}",
            "session_id": f"sess-{MARK}",
            "properties": {"screen_name": f"screen-{SECRET}"},
        }
        for _ in range(3)
    ]
    r = await client.post("/v1/events", json={"events": events}, headers=bearer(write))
    assert r.status_code == 200
    r = await client.post(
        "/v1/identify",
        json={"user_id": f"user-{MARK}", "anonymous_id": f"dev-{MARK}", "set": {"p": SECRET}},
        headers=bearer(write),
    )
    assert r.status_code == 200
    r = await client.put(f"/v1/flags/flag-{MARK}", json=FLAG, headers=bearer(secret))
    assert r.status_code == 200, r.text


async def call(
    client: AsyncTestClient,  # type: ignore[type-arg]
    method: str,
    path: str,
    key: str | None,
) -> tuple[int, str]:
    headers = bearer(key) if key else {}
    url = concrete(path)
    if method == "GET":
        r = await client.get(url, params=QUERY, headers=headers)
    else:
        body = {"flag": PARAMS["key"], "context": {"targetingKey": f"user-{MARK}"}}
        r = await client.request(method, url, params=QUERY, json=body, headers=headers)
    return r.status_code, r.text


async def test_every_endpoint_keeps_apps_apart_and_keys_in_their_place(
    database_url: str, engine: Engine
) -> None:
    # Every route is called without a key: the failed-key limit would block the address.
    settings = make_settings(database_url, RATE_LIMITS__AUTH_FAILURES_PER_MINUTE="0")
    a = create_tracked_app(engine, "app-a")
    b = create_tracked_app(engine, "app-b")
    assert a.write_key and a.secret_key and b.write_key and b.secret_key
    async with api_client(settings) as client:
        await seed_app_a(client, a.write_key, a.secret_key)
        # A's own secret key does see its data (the marker is findable at all).
        status, text = await call(client, "GET", "/v1/events", a.secret_key)
        assert status == 200 and SECRET in text
        status, text = await call(client, "GET", "/v1/flags/{key}", a.secret_key)
        assert status == 200 and SECRET in text
        checked = 0
        for method, path in routes(client):
            if path in PUBLIC:
                continue
            checked += 1
            status, text = await call(client, method, path, b.secret_key)
            assert status < 500, (method, path, status, text)
            assert SECRET not in text, (
                f"{method} {path} with app B's key showed app A's data: {text[:300]}"
            )
            # Without a key, or with a write key on a read/admin route: refused (a 400
            # from query validation that runs before the key check reveals nothing).
            status, text = await call(client, method, path, None)
            assert status in (400, 401), (method, path, status)
            assert SECRET not in text
            status, text = await call(client, method, path, a.write_key)
            if not write_key_may_call(method, path):
                assert status in (400, 403), (method, path, status)
                assert SECRET not in text
        assert checked >= 10
        # Counts leak without any marker: B's trend of A's event name is empty.
        status, text = await call(client, "GET", "/v1/reports/{name}", b.secret_key)
        assert status == 200, text[:300]
        assert all(row["count"] == 0 for row in json.loads(text)["rows"]), text[:300]


async def test_sql_in_values_is_stored_and_matched_as_text(
    settings: Settings, engine: Engine
) -> None:
    a = create_tracked_app(engine, "app-a")
    hostile = "x'); DROP TABLE events; --"
    async with api_client(settings) as client:
        now = datetime.now(UTC).isoformat()
        event = {"event_id": str(uuid.uuid4()), "name": hostile, "timestamp": now}
        event["anonymous_id"] = "' OR '1'='1"
        r = await client.post("/v1/events", json={"events": [event]}, headers=bearer(a.write_key))
        assert r.status_code == 200
        r = await client.get("/v1/events", params={"name": hostile}, headers=bearer(a.secret_key))
        assert r.status_code == 200
        assert [e["name"] for e in r.json()["events"]] == [hostile]
        r = await client.get(
            "/v1/events", params={"name": "' OR '1'='1"}, headers=bearer(a.secret_key)
        )
        assert r.json()["events"] == []


def test_keys_are_compared_in_constant_time() -> None:
    source = inspect.getsource(apps_module.resolve_key)
    assert "hmac.compare_digest" in source
