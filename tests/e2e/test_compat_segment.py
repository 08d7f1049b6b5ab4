"""Segment end to end: the real analytics-python client against ``eventkit serve``, and
raw replays of what the mobile SDKs and analytics.js send."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from segment.analytics import Client
from sqlalchemy.engine import Engine

from eventkit.storage.apps import resolve_key
from eventkit.storage.users import get_profile
from tests.e2e.conftest import ServerProcess, stored

pytestmark = pytest.mark.e2e


def test_analytics_python_calls_are_stored(server: ServerProcess, db: Engine) -> None:
    assert server.write_key
    errors: list[Any] = []
    client = Client(
        server.write_key,
        host=f"{server.url}/segment",
        gzip=True,
        on_error=lambda e, batch: errors.append(e),
        max_retries=1,
    )
    client.identify("seg-user-1", {"email": "ada@example.com"}, anonymous_id="seg-dev-1")
    client.track("seg-user-1", "Order Completed", {"total": 42})
    client.screen("seg-user-1", name="Checkout", properties={"step": 2})
    client.page("seg-user-1", name="Pricing")
    client.group("seg-user-1", "acme", {"plan": "team"})
    client.alias("seg-dev-old", "seg-user-1")
    client.flush()
    client.shutdown()
    assert errors == []
    rows = {e.name: e for e in stored(db, user_id="seg-user-1")}
    assert set(rows) == {
        "$identify",
        "Order Completed",
        "$screen",
        "$pageview",
        "$groupidentify",
        "$create_alias",
    }
    assert all(r.source == "segment" for r in rows.values())
    assert rows["Order Completed"].properties == {"total": 42}
    assert rows["$screen"].properties == {"step": 2, "$screen_name": "Checkout"}
    assert rows["Order Completed"].context["library"]["name"] == "analytics-python"
    key = resolve_key(db, server.write_key)
    assert key is not None
    profile = get_profile(db, key.app_id, "seg-user-1")
    assert profile is not None
    assert profile["traits"] == {"email": "ada@example.com"}
    assert set(profile["anonymous_ids"]) == {"seg-dev-1", "seg-dev-old"}


def _chunks(data: bytes) -> Iterator[bytes]:
    for i in range(0, len(data), 64):
        yield data[i : i + 64]


def test_kotlin_gzip_text_plain_chunked_b(server: ServerProcess, db: Engine) -> None:
    """analytics-kotlin: POST {apiHost}/b, gzip, Content-Type text/plain, chunked."""
    now = "2026-01-01T00:00:00.000Z"
    events = [
        {
            "type": "track",
            "event": "Kotlin Event",
            "anonymousId": "kt-dev-1",
            "messageId": str(uuid.uuid4()),
            "timestamp": now,
            "properties": {"i": i},
            "context": {
                "os": {"name": "Android", "version": "14"},
                "app": {"version": "7.1.0", "build": "71"},
                "library": {"name": "analytics-kotlin", "version": "1.16"},
            },
        }
        for i in range(3)
    ]
    body = gzip.compress(
        json.dumps({"batch": events, "sentAt": now, "writeKey": server.write_key}).encode()
    )
    r = httpx.post(
        f"{server.url}/segment/v1/b",
        content=_chunks(body),
        headers={"Content-Type": "text/plain", "Content-Encoding": "gzip"},
    )
    assert (r.status_code, r.json()) == (200, {"success": True}), r.text
    rows = stored(db, anonymous_id="kt-dev-1")
    assert len(rows) == 3
    assert {(r.platform, r.app_version) for r in rows} == {("android", "7.1.0")}
    # sentAt equals the event time on the device: corrected onto the server's clock.
    assert all(r.received_at - r.ts < 5_000_000 for r in rows)


def test_analytics_js_one_letter_paths(server: ServerProcess, db: Engine) -> None:
    for path, msg in [
        ("t", {"event": "JS Click", "properties": {"x": 1}}),
        ("p", {"name": "Home"}),
        ("i", {"userId": "js-user-1", "traits": {"a": 1}}),
    ]:
        body = {
            **msg,
            "anonymousId": "js-anon-1",
            "writeKey": server.write_key,
            "messageId": f"ajs-{uuid.uuid4()}",
            "sentAt": "2026-01-01T00:00:00Z",
            "timestamp": "2026-01-01T00:00:00Z",
        }
        r = httpx.post(
            f"{server.url}/segment/v1/{path}",
            content=json.dumps(body),
            headers={"Content-Type": "text/plain"},
        )
        assert r.status_code == 200, r.text
    names = {e.name for e in stored(db, anonymous_id="js-anon-1")}
    assert names == {"JS Click", "$pageview", "$identify"}


def test_ingestion_paths_never_redirect(server: ServerProcess) -> None:
    body = {
        "batch": [{"type": "track", "event": "slash", "anonymousId": "slash-dev"}],
        "writeKey": server.write_key,
    }
    for path in ("/segment/v1/batch/", "/segment/v1/b/"):
        r = httpx.post(f"{server.url}{path}", json=body, follow_redirects=False)
        assert r.status_code == 200, (path, r.status_code)


def test_settings_for_mobile_sdks(server: ServerProcess) -> None:
    r = httpx.get(f"{server.url}/segment/v1/projects/{server.write_key}/settings")
    assert r.status_code == 200
    host = server.url.split("://", 1)[1]
    assert r.json()["integrations"]["Segment.io"]["apiHost"] == f"{host}/segment/v1"
