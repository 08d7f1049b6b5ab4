"""Rate limits (events per app, failed keys per address) and CORS, in-process."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine

from eventkit.api.limits import TokenBuckets
from eventkit.config import Settings
from eventkit.storage.apps import create_app as create_tracked_app
from tests.conftest import make_settings
from tests.inprocess import api_client, bearer


def batch(n: int) -> dict[str, object]:
    now = datetime.now(UTC).isoformat()
    return {
        "events": [
            {"event_id": str(uuid.uuid4()), "name": "tap", "timestamp": now, "anonymous_id": "d"}
            for _ in range(n)
        ]
    }


def test_token_bucket_refills_at_its_rate_and_tells_how_long_to_wait() -> None:
    b = TokenBuckets(rate=10, burst=20)
    assert b.wait("k", now=0) == 0
    b.take("k", 25, now=0)  # one request may overdraw: debt of 5
    assert b.wait("k", now=0) == pytest.approx(0.6)  # 5 of debt + 1 token to proceed
    assert b.wait("k", now=0.61) == 0
    b2 = TokenBuckets(rate=1, burst=1, max_keys=2)
    for key in "abc":
        b2.take(key, 1, now=0)
    assert b2.wait("a", now=0) == 0  # forgotten (least recently used): full again
    assert b2.wait("c", now=0) > 0


@pytest.fixture
def limited(database_url: str) -> Settings:
    return make_settings(
        database_url,
        RATE_LIMITS__EVENTS_PER_SECOND="2",
        RATE_LIMITS__BURST_EVENTS="10",
        RATE_LIMITS__AUTH_FAILURES_PER_MINUTE="6",
        RATE_LIMITS__AUTH_FAILURE_BURST="3",
    )


async def test_an_app_over_its_event_rate_gets_429_and_others_do_not(
    limited: Settings, engine: Engine
) -> None:
    a = create_tracked_app(engine, "a")
    b = create_tracked_app(engine, "b")
    async with api_client(limited) as client:
        r = await client.post("/v1/events", json=batch(12), headers=bearer(a.write_key))
        assert r.status_code == 200
        r = await client.post("/v1/events", json=batch(1), headers=bearer(a.write_key))
        assert r.status_code == 429
        assert r.json()["error"] == "rate_limited"
        assert "rate_limits.events_per_second" in r.json()["message"]
        assert int(r.headers["retry-after"]) >= 1
        r = await client.post("/v1/events", json=batch(3), headers=bearer(b.write_key))
        assert r.status_code == 200


async def test_failed_keys_from_one_address_are_limited(limited: Settings, engine: Engine) -> None:
    a = create_tracked_app(engine, "a")
    async with api_client(limited) as client:
        for _ in range(3):
            r = await client.post("/v1/events", json=batch(1), headers=bearer("ek_write_nope"))
            assert r.status_code == 401
        r = await client.post("/v1/events", json=batch(1), headers=bearer("ek_write_nope"))
        assert r.status_code == 429
        assert r.json()["error"] == "too_many_auth_failures"
        assert int(r.headers["retry-after"]) >= 1
        # The address is blocked even with a good key until the bucket refills.
        r = await client.post("/v1/events", json=batch(1), headers=bearer(a.write_key))
        assert r.status_code == 429


async def test_cors_is_off_by_default(settings: Settings, engine: Engine) -> None:
    async with api_client(settings) as client:
        r = await client.options(
            "/v1/events",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in r.headers
        r = await client.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers


async def test_cors_allows_only_the_configured_origins(database_url: str, engine: Engine) -> None:
    base = make_settings(database_url)
    settings = base.model_copy(
        update={"cors": base.cors.model_copy(update={"allow_origins": ["https://app.example"]})}
    )
    async with api_client(settings) as client:
        r = await client.options(
            "/v1/events",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
        )
        assert r.status_code in (200, 204)
        assert r.headers["access-control-allow-origin"] == "https://app.example"
        r = await client.get("/healthz", headers={"Origin": "https://other.example"})
        assert "access-control-allow-origin" not in r.headers
