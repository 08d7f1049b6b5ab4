"""Amplitude HTTP V2 / Batch in-process: documented bodies, all-or-nothing batches."""

from __future__ import annotations

import time
import uuid

import pytest

from eventkit.compat import amplitude
from eventkit.compat.common import COMPAT_NAMESPACE
from eventkit.errors import OverloadedError
from eventkit.storage.users import get_profile
from tests.compat.conftest import Api
from tests.e2e.conftest import stored


def ms(offset: float = 0) -> int:
    return int((time.time() + offset) * 1000)


@pytest.mark.parametrize("path", ["/amplitude/2/httpapi", "/amplitude/batch"])
async def test_success_body_and_mapping(api: Api, path: str) -> None:
    events = [
        {
            "event_type": "Song Played",
            "user_id": "user-1",
            "device_id": "device-1",
            "time": ms(-1),
            "insert_id": "ins-1",
            "session_id": 1_700_000_000_000,
            "event_properties": {"genre": "jazz"},
            "platform": "iOS",
            "os_name": "ios",
            "app_version": "5.0",
            "country": "de",
            "price": 1.5,
        }
    ]
    body = {"api_key": api.keys.write_key, "events": events}
    r = await api.client.post(path, json=body)
    assert r.status_code == 200
    got = r.json()
    assert (got["code"], got["events_ingested"]) == (200, 1)
    assert set(got) == {"code", "events_ingested", "payload_size_bytes", "server_upload_time"}
    [row] = stored(api.engine, name="Song Played")
    assert row.event_id == uuid.uuid5(COMPAT_NAMESPACE, "amplitude:ins-1")
    assert (row.user_id, row.anonymous_id, row.session_id) == (
        "user-1",
        "device-1",
        "1700000000000",
    )
    assert (row.platform, row.app_version, row.country) == ("ios", "5.0", "DE")
    assert row.properties == {"genre": "jazz", "price": 1.5}
    # insert_id dedup: the retry is ingested (Amplitude semantics) but stored once.
    assert (await api.client.post(path, json=body)).json()["events_ingested"] == 1
    assert len(stored(api.engine, name="Song Played")) == 1


async def test_one_invalid_event_refuses_the_batch_with_indices(api: Api) -> None:
    events = [
        {"event_type": "ok", "user_id": "user-1"},
        {"user_id": "user-1"},
        {"event_type": "short", "device_id": "abc"},
        {"event_type": "bad time", "user_id": "user-1", "time": "soon"},
        {"event_type": "no ids"},
    ]
    r = await api.client.post(
        "/amplitude/2/httpapi", json={"api_key": api.keys.write_key, "events": events}
    )
    assert r.status_code == 400
    got = r.json()
    assert got["code"] == 400
    assert got["events_with_missing_fields"] == {"event_type": [1], "user_id": [4]}
    assert got["events_with_invalid_id_lengths"] == {"device_id": [2]}
    assert got["events_with_invalid_fields"] == {"time": [3]}
    assert stored(api.engine, name="ok") == []


async def test_min_id_length_option(api: Api) -> None:
    body = {
        "api_key": api.keys.write_key,
        "options": {"min_id_length": 1},
        "events": [{"event_type": "tiny", "device_id": "d"}],
    }
    assert (await api.client.post("/amplitude/2/httpapi", json=body)).status_code == 200


async def test_missing_top_level_fields(api: Api) -> None:
    r = await api.client.post("/amplitude/2/httpapi", json={"events": []})
    assert (r.status_code, r.json()["missing_field"], r.json()["code"]) == (400, "api_key", 400)
    r = await api.client.post("/amplitude/2/httpapi", json={"api_key": api.keys.write_key})
    assert r.json()["missing_field"] == "events"
    r = await api.client.post("/amplitude/2/httpapi", json={"api_key": "nope", "events": [{}]})
    assert r.json()["code"] == 400 and "Invalid API key" in r.json()["error"]


async def test_identify_user_property_operations(api: Api) -> None:
    events = [
        {
            "event_type": "$identify",
            "user_id": "user-5",
            "device_id": "device-5",
            "user_properties": {
                "$set": {"plan": "pro"},
                "$setOnce": {"src": "ad"},
                "$add": {"logins": 1},
            },
        }
    ]
    r = await api.client.post(
        "/amplitude/2/httpapi", json={"api_key": api.keys.write_key, "events": events}
    )
    assert r.status_code == 200
    profile = get_profile(api.engine, api.keys.app_id, "user-5")
    assert profile is not None
    assert profile["traits"] == {"plan": "pro", "src": "ad"}
    assert profile["anonymous_ids"] == ["device-5"]


def test_overload_bodies() -> None:
    class Throttled(OverloadedError):
        status_code = 429

    events = [{"device_id": "dev-a", "user_id": "user-a"}, {"device_id": "dev-b"}]
    status, body, headers = amplitude.error_body(Throttled("busy", retry_after=3), events)
    assert (status, body["code"], headers) == (429, 429, {"Retry-After": "3"})
    assert body["throttled_events"] == [0, 1]
    assert body["throttled_devices"] == {"dev-a": 30, "dev-b": 30}
    assert body["throttled_users"] == {"user-a": 30}
    status, body, headers = amplitude.error_body(OverloadedError("down", retry_after=9))
    assert (status, body["code"], headers) == (503, 503, {"Retry-After": "9"})


async def test_too_many_events_is_413_in_amplitude_shape(api: Api) -> None:
    limit = api.client.app.state.runtime.settings.limits.max_batch_events
    events = [{"event_type": "x", "user_id": "user-1"}] * (limit + 1)
    r = await api.client.post(
        "/amplitude/batch", json={"api_key": api.keys.write_key, "events": events}
    )
    assert (r.status_code, r.json()) == (413, {"code": 413, "error": "Payload too large"})
