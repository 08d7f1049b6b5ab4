"""The native API's rate limits apply to every vendor protocol, in that vendor's shape."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from eventkit.storage.apps import create_app as create_tracked_app
from tests.compat.conftest import basic, iso
from tests.conftest import make_settings
from tests.inprocess import api_client


def segment(key: str, n: int) -> tuple[str, dict[str, Any], dict[str, str]]:
    batch = [
        {"type": "track", "event": "tap", "anonymousId": "d", "messageId": str(uuid.uuid4())}
        for _ in range(n)
    ]
    return "/segment/v1/batch", {"batch": batch, "sentAt": iso()}, basic(key)


def posthog(key: str, n: int) -> tuple[str, dict[str, Any], dict[str, str]]:
    batch = [
        {"event": "tap", "distinct_id": "d", "uuid": str(uuid.uuid4()), "timestamp": iso()}
        for _ in range(n)
    ]
    return "/posthog/batch/", {"api_key": key, "batch": batch}, {}


def amplitude(key: str, n: int) -> tuple[str, dict[str, Any], dict[str, str]]:
    now = int(time.time() * 1000) - 1000
    events = [
        {"event_type": "tap", "device_id": "device-1", "time": now, "insert_id": uuid.uuid4().hex}
        for _ in range(n)
    ]
    return "/amplitude/2/httpapi", {"api_key": key, "events": events}, {}


def mixpanel(key: str, n: int) -> tuple[str, Any, dict[str, str]]:
    props = {"token": key, "distinct_id": "d", "time": time.time() - 1}
    data = [
        {"event": "tap", "properties": {**props, "$insert_id": uuid.uuid4().hex}} for _ in range(n)
    ]
    return "/mixpanel/track?verbose=1", data, {}


@pytest.mark.parametrize("vendor", [segment, posthog, amplitude, mixpanel])
async def test_an_app_over_its_rate_gets_429_with_retry_after(
    database_url: str, engine: Engine, vendor: Any
) -> None:
    settings = make_settings(
        database_url, RATE_LIMITS__EVENTS_PER_SECOND="2", RATE_LIMITS__BURST_EVENTS="10"
    )
    a = create_tracked_app(engine, "limited")
    b = create_tracked_app(engine, "other")
    async with api_client(settings) as client:
        path, body, headers = vendor(a.write_key, 12)
        r = await client.post(path, json=body, headers=headers)
        assert r.status_code == 200, r.text
        path, body, headers = vendor(a.write_key, 1)
        r = await client.post(path, json=body, headers=headers)
        assert r.status_code == 429, r.text
        assert int(r.headers["retry-after"]) >= 1
        if vendor is amplitude:
            assert r.json()["code"] == 429  # Amplitude's clients read the body's code
        path, body, headers = vendor(b.write_key, 1)
        assert (await client.post(path, json=body, headers=headers)).status_code == 200


@pytest.mark.parametrize("vendor", [segment, posthog, amplitude, mixpanel])
async def test_unknown_keys_count_against_the_address(
    database_url: str, engine: Engine, vendor: Any
) -> None:
    settings = make_settings(
        database_url,
        RATE_LIMITS__AUTH_FAILURES_PER_MINUTE="6",
        RATE_LIMITS__AUTH_FAILURE_BURST="3",
    )
    good = create_tracked_app(engine, "good")
    async with api_client(settings) as client:
        for _ in range(3):
            path, body, headers = vendor("ek_write_nope", 1)
            r = await client.post(path, json=body, headers=headers)
            assert r.status_code in (400, 401, 403), r.text
        path, body, headers = vendor(good.write_key, 1)
        r = await client.post(path, json=body, headers=headers)
        assert r.status_code == 429, r.text  # blocked even with a good key for a while
        assert int(r.headers["retry-after"]) >= 1
