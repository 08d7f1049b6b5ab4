"""Segment's HTTP Tracking API in-process: paths, auth forms, mapping, dedup, skew,
profiles and error shapes."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest
from sqlalchemy.engine import Engine

from eventkit.compat import segment
from eventkit.compat.common import COMPAT_NAMESPACE
from eventkit.errors import OverloadedError, PayloadTooLargeError
from eventkit.storage.apps import create_app as create_tracked_app
from eventkit.storage.users import get_profile
from tests.compat.conftest import Api, basic, iso
from tests.conftest import make_settings
from tests.e2e.conftest import stored
from tests.inprocess import api_client


async def test_batch_with_basic_auth_maps_every_call_type(api: Api) -> None:
    now = iso()
    batch = [
        {
            "type": "track",
            "event": "Order Completed",
            "userId": "u1",
            "messageId": "m-1",
            "properties": {"total": 9.5},
            "timestamp": now,
        },
        {
            "type": "screen",
            "name": "Home",
            "anonymousId": "dev-1",
            "messageId": "m-2",
            "timestamp": now,
        },
        {"type": "page", "name": "Pricing", "anonymousId": "dev-1", "messageId": "m-3"},
        {
            "type": "group",
            "groupId": "acme",
            "userId": "u1",
            "traits": {"plan": "pro"},
            "messageId": "m-4",
        },
    ]
    body = {
        "batch": batch,
        "sentAt": now,
        "context": {"os": {"name": "iOS"}, "app": {"version": "2.1.0"}},
    }
    r = await api.client.post("/segment/v1/batch", json=body, headers=basic(api.keys.write_key))
    assert (r.status_code, r.json()) == (200, {"success": True})
    rows = {e.name: e for e in stored(api.engine)}
    assert set(rows) == {"Order Completed", "$screen", "$pageview", "$groupidentify"}
    order = rows["Order Completed"]
    assert (order.user_id, order.properties, order.source) == ("u1", {"total": 9.5}, "segment")
    assert (order.platform, order.app_version) == ("ios", "2.1.0")  # batch-level context
    assert order.event_id == uuid.uuid5(COMPAT_NAMESPACE, "segment:m-1")
    assert rows["$screen"].properties == {"$screen_name": "Home"}
    assert rows["$screen"].anonymous_id == "dev-1"
    assert rows["$groupidentify"].properties["$group_key"] == "acme"


@pytest.mark.parametrize("path", ["/segment/v1/t", "/segment/v1/track", "/segment/v1/track/"])
async def test_single_calls_take_the_write_key_from_the_body(api: Api, path: str) -> None:
    msg = {
        "event": "Tapped",
        "anonymousId": "dev-2",
        "writeKey": api.keys.write_key,
        "messageId": str(uuid.uuid4()),
    }
    r = await api.client.post(path, content=json.dumps(msg), headers={"Content-Type": "text/plain"})
    assert r.status_code == 200, r.text
    [row] = stored(api.engine, name="Tapped")
    assert str(row.event_id) == msg["messageId"]


async def test_identify_and_alias_update_profiles(api: Api) -> None:
    auth = basic(api.keys.write_key)
    ident = {
        "userId": "u9",
        "anonymousId": "dev-9",
        "traits": {"email": "a@b.c"},
        "messageId": "id-1",
    }
    assert (await api.client.post("/segment/v1/i", json=ident, headers=auth)).status_code == 200
    alias = {"userId": "u9", "previousId": "old-device", "messageId": "al-1"}
    assert (await api.client.post("/segment/v1/a", json=alias, headers=auth)).status_code == 200
    profile = get_profile(api.engine, api.keys.app_id, "u9")
    assert profile is not None
    assert profile["traits"] == {"email": "a@b.c"}
    assert set(profile["anonymous_ids"]) == {"dev-9", "old-device"}
    [ev] = stored(api.engine, name="$identify")
    assert ev.properties == {"$set": {"email": "a@b.c"}, "$set_once": {}}


async def test_retried_batch_is_deduplicated_by_message_id(api: Api) -> None:
    body = {"batch": [{"type": "track", "event": "Dup", "userId": "u1", "messageId": "same"}]}
    for _ in range(2):
        r = await api.client.post("/segment/v1/b", json=body, headers=basic(api.keys.write_key))
        assert r.status_code == 200
    assert len(stored(api.engine, name="Dup")) == 1


async def test_sent_at_corrects_a_wrong_device_clock(api: Api) -> None:
    # The device clock is an hour behind; the event happened 10 s before sending.
    body = {
        "batch": [
            {"type": "track", "event": "Skewed", "userId": "u1", "originalTimestamp": iso(-3610)}
        ],
        "sentAt": iso(-3600),
    }
    r = await api.client.post("/segment/v1/b", json=body, headers=basic(api.keys.write_key))
    assert r.status_code == 200
    [row] = stored(api.engine, name="Skewed")
    assert abs((row.received_at - row.ts) - 10_000_000) < 2_000


async def test_gzip_text_plain_body(api: Api) -> None:
    body = {"batch": [{"type": "track", "event": "Zipped", "anonymousId": "dev-3"}]}
    r = await api.client.post(
        "/segment/v1/b",
        content=gzip.compress(json.dumps(body).encode()),
        headers={
            "Content-Encoding": "gzip",
            "Content-Type": "text/plain",
            **basic(api.keys.write_key),
        },
    )
    assert r.status_code == 200, r.text
    assert len(stored(api.engine, name="Zipped")) == 1


async def test_invalid_messages_are_reported_and_the_rest_stored(api: Api) -> None:
    body = {
        "batch": [
            {"type": "track", "event": "Good", "userId": "u1"},
            {"type": "track", "userId": "u1"},
            {"type": "launch"},
        ]
    }
    r = await api.client.post("/segment/v1/b", json=body, headers=basic(api.keys.write_key))
    assert r.status_code == 200
    assert [x["index"] for x in r.json()["rejected"]] == [1, 2]
    assert len(stored(api.engine, name="Good")) == 1


async def test_error_shapes(api: Api) -> None:
    r = await api.client.post("/segment/v1/batch", json={"batch": []})
    assert r.status_code == 401
    assert r.json()["success"] is False and r.json()["code"] == "unauthorized"
    r = await api.client.post("/segment/v1/batch", content=b"{", headers=basic(api.keys.write_key))
    assert (r.status_code, r.json()["code"]) == (400, "invalid_request")
    r = await api.client.post(
        "/segment/v1/batch", json={"batch": [{"type": "track"}]}, headers=basic(api.keys.write_key)
    )
    assert r.status_code == 400 and "every message was rejected" in r.json()["message"]


async def test_overload_answers_retry_after_in_segment_shape(api: Api) -> None:
    api.client.app.state.runtime.writer._closing = True  # the server is shutting down
    try:
        body = {"batch": [{"type": "track", "event": "Late", "userId": "u1"}]}
        r = await api.client.post("/segment/v1/b", json=body, headers=basic(api.keys.write_key))
    finally:
        api.client.app.state.runtime.writer._closing = False
    assert r.status_code == 503
    assert r.headers["retry-after"] == "2"
    assert r.json()["success"] is False


def test_error_body_maps_429_with_retry_after() -> None:
    class RateLimited(OverloadedError):
        status_code = 429

    status, body, headers = segment.error_body(RateLimited("slow down", retry_after=7))
    assert (status, headers, body["success"]) == (429, {"Retry-After": "7"}, False)
    assert segment.error_body(PayloadTooLargeError("big"))[0] == 413


async def test_mobile_settings_point_uploads_back_at_eventkit(api: Api) -> None:
    r = await api.client.get(f"/segment/v1/projects/{api.keys.write_key}/settings")
    assert r.status_code == 200
    seg = r.json()["integrations"]["Segment.io"]
    assert seg["apiKey"] == api.keys.write_key
    assert seg["apiHost"].endswith("/segment/v1")
    r = await api.client.get("/segment/v1/projects/nope/settings")
    assert r.status_code == 400


async def test_vendors_can_be_switched_off(database_url: str, engine: Engine) -> None:
    settings = make_settings(database_url, COMPAT__VENDORS="posthog, amplitude")
    assert settings.compat.vendors == ["posthog", "amplitude"]
    keys = create_tracked_app(engine, "switched")
    async with api_client(settings) as client:
        body = {"batch": [{"type": "track", "event": "x", "userId": "u1"}]}
        r = await client.post("/segment/v1/b", json=body, headers=basic(keys.write_key))
        assert r.status_code == 404
        ph = {"api_key": keys.write_key, "batch": [{"event": "x", "distinct_id": "u1"}]}
        r = await client.post("/posthog/batch/", json=ph)
        assert r.status_code == 200
