"""Mixpanel ingestion in-process: body forms, verbose answers, import, engage, groups."""

from __future__ import annotations

import base64
import json
import time
import uuid

from eventkit.compat.common import COMPAT_NAMESPACE
from eventkit.storage.users import get_profile
from tests.compat.conftest import Api, basic
from tests.e2e.conftest import stored


def event(api: Api, name: str, distinct: str, **props: object) -> dict[str, object]:
    return {
        "event": name,
        "properties": {
            "token": api.keys.write_key,
            "distinct_id": distinct,
            "time": time.time() - 1,
            "$insert_id": uuid.uuid4().hex,
            **props,
        },
    }


async def test_track_form_json_base64_and_verbose(api: Api) -> None:
    one = event(api, "form", "user-1", **{"$os": "iOS", "$app_version_string": "1.2"})
    r = await api.client.post("/mixpanel/track", data={"data": json.dumps(one), "verbose": "1"})
    assert (r.status_code, r.json()) == (200, {"status": 1, "error": None})
    b64 = base64.b64encode(json.dumps([event(api, "b64", "user-1")]).encode()).decode()
    r = await api.client.post("/mixpanel/track/", data={"data": b64})
    assert (r.status_code, r.text) == (200, "1")
    r = await api.client.post("/mixpanel/track?verbose=1", json=[event(api, "json", "user-1")])
    assert r.json() == {"status": 1, "error": None}
    [row] = stored(api.engine, name="form")
    assert (row.user_id, row.platform, row.app_version, row.source) == (
        "user-1",
        "ios",
        "1.2",
        "mixpanel",
    )
    # Mixpanel's insert ids are often UUID hex: used as the event id as they are.
    insert_id = one["properties"]["$insert_id"]  # type: ignore[index]
    assert row.event_id == uuid.UUID(insert_id)
    short = event(api, "short-id", "user-1", **{"$insert_id": "abc"})
    assert (await api.client.post("/mixpanel/track", json=[short])).status_code == 200
    [row] = stored(api.engine, name="short-id")
    assert row.event_id == uuid.uuid5(COMPAT_NAMESPACE, "mixpanel:abc")
    assert "token" not in row.properties
    assert len(stored(api.engine, name="b64")) == len(stored(api.engine, name="json")) == 1


async def test_device_ids_are_anonymous(api: Api) -> None:
    ev = event(api, "anon", "$device:abc-123", **{"$device_id": "abc-123"})
    assert (await api.client.post("/mixpanel/track", json=[ev])).status_code == 200
    [row] = stored(api.engine, name="anon")
    assert (row.user_id, row.anonymous_id) == (None, "abc-123")


async def test_import_ndjson_with_basic_auth_reports_failed_records(api: Api) -> None:
    good = event(api, "imported", "user-2")
    bad = {"event": "", "properties": {"distinct_id": "user-2", "$insert_id": "bad-1"}}
    body = (json.dumps(good) + "\n" + json.dumps(bad) + "\n").encode()
    r = await api.client.post(
        "/mixpanel/import?strict=1",
        content=body,
        headers={"Content-Type": "application/x-ndjson", **basic(api.keys.write_key)},
    )
    assert r.status_code == 400
    got = r.json()
    assert (got["code"], got["num_records_imported"], got["status"]) == (400, 1, "Bad Request")
    assert got["failed_records"][0]["index"] == 1
    assert got["failed_records"][0]["$insert_id"] == "bad-1"
    r = await api.client.post("/mixpanel/import", json=[good], headers=basic(api.keys.write_key))
    assert r.json() == {"code": 200, "num_records_imported": 1, "status": "OK"}
    assert len(stored(api.engine, name="imported")) == 1


async def test_engage_updates_the_profile_once(api: Api) -> None:
    update = {
        "$token": api.keys.write_key,
        "$distinct_id": "user-3",
        "$set": {"plan": "team"},
        "$set_once": {"first_seen_via": "ad"},
    }
    for _ in range(2):
        r = await api.client.post(
            "/mixpanel/engage", data={"data": json.dumps([update]), "verbose": "1"}
        )
        assert r.json() == {"status": 1, "error": None}
    profile = get_profile(api.engine, api.keys.app_id, "user-3")
    assert profile is not None and profile["traits"] == {"plan": "team", "first_seen_via": "ad"}
    assert len(stored(api.engine, name="$set")) == 1


async def test_identify_alias_and_groups(api: Api) -> None:
    ident = event(api, "$identify", "user-4", **{"$identified_id": "user-4", "$anon_id": "dev-4"})
    alias = event(api, "$create_alias", "dev-44", alias="user-4")
    assert (await api.client.post("/mixpanel/track", json=[ident, alias])).status_code == 200
    profile = get_profile(api.engine, api.keys.app_id, "user-4")
    assert profile is not None and set(profile["anonymous_ids"]) == {"dev-4", "dev-44"}
    group = {
        "$token": api.keys.write_key,
        "$group_key": "company",
        "$group_id": "acme",
        "$set": {"seats": 5},
    }
    r = await api.client.post("/mixpanel/groups?verbose=1", json=[group])
    assert r.json() == {"status": 1, "error": None}
    [row] = stored(api.engine, name="$groupidentify")
    assert row.anonymous_id == "$group:company:acme"


async def test_errors(api: Api) -> None:
    r = await api.client.post(
        "/mixpanel/track?verbose=1",
        json=[{"event": "x", "properties": {"token": "nope", "distinct_id": "u"}}],
    )
    assert (r.status_code, r.json()["status"]) == (401, 0)
    r = await api.client.post("/mixpanel/import", json=[{"event": "x"}])
    assert r.status_code == 401
    assert r.json()["status"] == "Unauthorized" and r.json()["code"] == 401
    r = await api.client.post("/mixpanel/track", content=b"not json")
    assert (r.status_code, r.text) == (400, "0")


async def test_pretty_printed_json_and_bad_ndjson(api: Api) -> None:
    ev = event(api, "pretty", "user-6")
    r = await api.client.post("/mixpanel/track?verbose=1", content=json.dumps(ev, indent=2))
    assert r.json() == {"status": 1, "error": None}
    r = await api.client.post(
        "/mixpanel/import", content=b'{"event": "a"}\n{oops}\n', headers=basic(api.keys.write_key)
    )
    assert r.status_code == 400 and "NDJSON line 2" in r.json()["error"]
