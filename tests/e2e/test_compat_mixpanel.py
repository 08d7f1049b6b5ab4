"""Mixpanel end to end: the real mixpanel-python client (track, people, groups, import)
against ``eventkit serve``; raw replays of mobile SDK bodies (base64 form, alias)."""

from __future__ import annotations

import base64
import json
import time
import uuid

import httpx
import pytest
from mixpanel import Consumer, Mixpanel, ServiceAccountCredentials
from sqlalchemy.engine import Engine

from eventkit.storage.apps import resolve_key
from eventkit.storage.users import get_profile
from tests.e2e.conftest import ServerProcess, stored

pytestmark = pytest.mark.e2e


def _mixpanel(server: ServerProcess) -> Mixpanel:
    assert server.write_key
    base = f"{server.url}/mixpanel"
    consumer = Consumer(
        events_url=f"{base}/track",
        people_url=f"{base}/engage",
        groups_url=f"{base}/groups",
        import_url=f"{base}/import",
        # /import authenticates with Basic auth: the write key as the username.
        credentials=ServiceAccountCredentials(server.write_key, "-", "1"),
    )
    return Mixpanel(server.write_key, consumer=consumer)


def test_mixpanel_python_track_people_groups_import(server: ServerProcess, db: Engine) -> None:
    mp = _mixpanel(server)  # raises MixpanelException on any error answer
    mp.track("mp-user-1", "Video Watched", {"$os": "Android", "length": 30})
    mp.people_set("mp-user-1", {"plan": "pro"})
    mp.people_set_once("mp-user-1", {"first_app": "android"})
    mp.group_set("company", "mp-acme", {"seats": 3})
    mp.import_data(None, "mp-user-1", "Old Purchase", int(time.time()) - 3600, {"amount": 5})
    rows = {e.name: e for e in stored(db, user_id="mp-user-1")}
    assert {"Video Watched", "$set", "Old Purchase"} <= set(rows)
    watched = rows["Video Watched"]
    assert (watched.platform, watched.properties["length"], watched.source) == (
        "android",
        30,
        "mixpanel",
    )
    assert 3500 < (watched.ts - rows["Old Purchase"].ts) / 1e6 < 3700
    assert server.write_key
    key = resolve_key(db, server.write_key)
    assert key is not None
    profile = get_profile(db, key.app_id, "mp-user-1")
    assert profile is not None and profile["traits"] == {"plan": "pro", "first_app": "android"}
    [group] = stored(db, anonymous_id="$group:company:mp-acme")
    assert group.properties["$set"] == {"seats": 3}


def test_mobile_sdk_base64_batch_and_alias(server: ServerProcess, db: Engine) -> None:
    """mixpanel-android/iOS: form data=<base64 JSON array>, device ids, $identify."""
    now = time.time()
    events = [
        {
            "event": "App Open",
            "properties": {
                "token": server.write_key,
                "distinct_id": "$device:mp-dev-1",
                "$device_id": "mp-dev-1",
                "time": int(now * 1000),
                "$insert_id": uuid.uuid4().hex[:16],
                "$os": "iOS",
                "$app_version_string": "3.0",
            },
        },
        {
            "event": "$identify",
            "properties": {
                "token": server.write_key,
                "distinct_id": "mp-user-2",
                "$identified_id": "mp-user-2",
                "$anon_id": "mp-dev-1",
                "$device_id": "mp-dev-1",
                "$user_id": "mp-user-2",
                "time": now,
            },
        },
        {
            "event": "$create_alias",
            "properties": {
                "token": server.write_key,
                "distinct_id": "mp-dev-old",
                "alias": "mp-user-2",
                "time": now,
            },
        },
    ]
    data = base64.b64encode(json.dumps(events).encode()).decode()
    r = httpx.post(f"{server.url}/mixpanel/track/?ip=1", data={"data": data, "verbose": "1"})
    assert (r.status_code, r.json()) == (200, {"status": 1, "error": None}), r.text
    [opened] = stored(db, anonymous_id="mp-dev-1", name="App Open")
    assert (opened.user_id, opened.platform, opened.app_version) == (None, "ios", "3.0")
    assert server.write_key
    key = resolve_key(db, server.write_key)
    assert key is not None
    profile = get_profile(db, key.app_id, "mp-user-2")
    assert profile is not None and set(profile["anonymous_ids"]) == {"mp-dev-1", "mp-dev-old"}
