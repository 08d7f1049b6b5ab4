"""The alert and annotation routes: every route x credential (none, write key, the
app's secret key, another app's secret key), and what they answer."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.storage.apps import NewKeys
from eventkit.storage.apps import create_app as create_tracked_app
from tests.alerts.servers import closed_port_url
from tests.conftest import make_settings
from tests.inprocess import api_client, bearer
from tests.plugins.receiver import receiver

RULE: dict[str, Any] = {
    "name": "signups",
    "metric": {"kind": "events", "event": "signup"},
    "condition": {"kind": "below", "threshold": 5},
    "interval": "day",
    "destinations": [{"type": "webhook", "to": "http://127.0.0.1:9/x", "secret": "s3"}],
}
#: (method, path, body, status with the app's secret key)
ROUTES: list[tuple[str, str, dict[str, Any] | None, int]] = [
    ("GET", "/v1/alerts", None, 200),
    ("GET", "/v1/alerts/signups", None, 200),
    ("GET", "/v1/alerts/signups/history", None, 200),
    ("GET", "/v1/alerts/deliveries", None, 200),
    ("POST", "/v1/alerts/signups/pause", None, 200),
    ("POST", "/v1/alerts/signups/resume", None, 200),
    ("POST", "/v1/alerts/signups/test", None, 502),  # the destination is down
    ("GET", "/v1/annotations", None, 200),
    ("POST", "/v1/annotations", {"text": "launch"}, 201),
    ("POST", "/v1/alerts", {**RULE, "name": "second"}, 201),
    ("DELETE", "/v1/alerts/signups", None, 204),
]


@pytest.fixture
def settings(database_url: str) -> Settings:
    """No limit on failed keys: the matrix sends many on purpose."""
    return make_settings(database_url, RATE_LIMITS__AUTH_FAILURES_PER_MINUTE="0")


@pytest.fixture
def keys(engine: Engine) -> tuple[NewKeys, NewKeys]:
    return create_tracked_app(engine, "app-a"), create_tracked_app(engine, "app-b")


async def test_route_by_credential_matrix(settings: Settings, engine: Engine,
                                          keys: tuple[NewKeys, NewKeys]) -> None:  # fmt: skip
    a, b = keys
    async with api_client(settings) as client:
        r = await client.post("/v1/alerts", json=RULE, headers=bearer(a.secret_key))
        assert r.status_code == 201, r.text
        for method, path, body, ok in ROUTES:
            for key, want in ((None, 401), ("ek_secret_unknown0000000000000000", 401),
                              (a.write_key, 403)):  # fmt: skip
                r = await client.request(method, path, json=body, headers=bearer(key) if key
                                         else {})  # fmt: skip
                assert r.status_code == want, (method, path, key, r.text)
            # Another app's secret key: its own (empty) app, never app A's rule.
            r = await client.request(method, path, json=body, headers=bearer(b.secret_key))
            if "/signups" in path:
                assert r.status_code == 404, (method, path, r.text)
                assert "signups" not in r.text or "no alert named" in r.text
            else:
                assert r.status_code in (200, 201), (method, path, r.text)
                assert "s3" not in r.text and "signups" not in r.text
            r = await client.request(method, path, json=body, headers=bearer(a.secret_key))
            assert r.status_code == ok, (method, path, r.text)


async def test_create_validates_and_hides_secrets(
    settings: Settings, keys: tuple[NewKeys, NewKeys]
) -> None:
    a, _ = keys
    h = bearer(a.secret_key)
    async with api_client(settings) as client:
        bad = {**RULE, "condition": {"kind": "drop"}, "metric": {"kind": "bogus"}}
        r = await client.post("/v1/alerts", json=bad, headers=h)
        assert r.status_code == 400
        msg = r.json()["message"]
        assert "metric.kind" in msg and "condition" in msg
        r = await client.post("/v1/alerts", content=b"[1]", headers=h)
        assert r.status_code == 400 and "JSON object" in r.json()["message"]
        r = await client.post("/v1/alerts", json={k: v for k, v in RULE.items() if k != "name"},
                              headers=h)  # fmt: skip
        assert r.status_code == 400 and "name" in r.json()["message"]
        assert (await client.post("/v1/alerts", json=RULE, headers=h)).status_code == 201
        r = await client.post("/v1/alerts", json=RULE, headers=h)
        assert r.status_code == 409
        shown = (await client.get("/v1/alerts/signups", headers=h)).json()
        assert shown["definition"]["destinations"][0]["secret"] == "********"
        assert shown["watches"] == "count of signup per day" and shown["status"] == "active"
        assert shown["destinations"] == ["webhook 127.0.0.1:9 (signed)"]
        paused = (await client.post("/v1/alerts/signups/pause", headers=h)).json()
        assert paused["status"] == "paused"


async def test_test_route_reports_each_destination(
    settings: Settings, keys: tuple[NewKeys, NewKeys]
) -> None:
    a, _ = keys
    h = bearer(a.secret_key)
    with receiver() as rx:
        rule = {**RULE, "destinations": [{"type": "webhook", "to": rx.url},
                                         {"type": "slack", "to": closed_port_url()}]}  # fmt: skip
        async with api_client(settings) as client:
            assert (await client.post("/v1/alerts", json=rule, headers=h)).status_code == 201
            r = await client.post("/v1/alerts/signups/test", headers=h)
        assert r.status_code == 502
        results = r.json()["results"]
        assert [x["ok"] for x in results] == [True, False]
        assert "ConnectError" in results[1]["error"]
        assert rx.bodies()[0]["type"] == "alert.test"


async def test_annotations_round_trip(settings: Settings, keys: tuple[NewKeys, NewKeys]) -> None:
    a, b = keys
    async with api_client(settings) as client:
        r = await client.post("/v1/annotations", headers=bearer(a.secret_key),
                              json={"text": "campaign", "at": "2026-05-02T09:00:00Z"})  # fmt: skip
        assert r.status_code == 201 and r.json()["at"] == "2026-05-02T09:00:00+00:00"
        r = await client.post("/v1/annotations", headers=bearer(a.secret_key),
                              json={"text": "x", "at": "yesterday-ish"})  # fmt: skip
        assert r.status_code == 400 and "at:" in r.json()["message"]
        got = await client.get("/v1/annotations?since=2026-05-01&until=2026-05-03",
                               headers=bearer(a.secret_key))  # fmt: skip
        assert [n["text"] for n in got.json()["annotations"]] == ["campaign"]
        other = await client.get("/v1/annotations?since=2026-05-01&until=2026-05-03",
                                 headers=bearer(b.secret_key))  # fmt: skip
        assert other.json()["annotations"] == []
