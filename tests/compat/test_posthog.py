"""PostHog capture and flags in-process."""

from __future__ import annotations

import base64
import gzip
import json
import uuid

import pytest

from eventkit.compat import posthog
from eventkit.errors import OverloadedError
from eventkit.flags.spec import Condition, FlagSpec, Rule, Variant, default_variants
from eventkit.flags.store import create_flag
from eventkit.storage.users import get_profile
from tests.compat.conftest import Api, iso
from tests.e2e.conftest import stored


def ev(name: str, distinct: str, **fields: object) -> dict[str, object]:
    return {
        "event": name,
        "distinct_id": distinct,
        "uuid": str(uuid.uuid4()),
        "timestamp": iso(),
        "properties": {},
        **fields,
    }


@pytest.mark.parametrize("path", ["/posthog/batch/", "/posthog/batch", "/posthog/capture/"])
async def test_batch_body(api: Api, path: str) -> None:
    body = {
        "api_key": api.keys.write_key,
        "sent_at": iso(),
        "batch": [
            ev(
                "clicked",
                "u1",
                properties={
                    "$os": "Android",
                    "$app_version": "3.2",
                    "$session_id": "s-1",
                    "color": "red",
                },
            )
        ],
    }
    r = await api.client.post(path, json=body)
    assert (r.status_code, r.json()) == (200, {"status": 1}), r.text
    [row] = stored(api.engine, name="clicked")
    assert (row.user_id, row.session_id, row.platform, row.app_version, row.source) == (
        "u1",
        "s-1",
        "android",
        "3.2",
        "posthog",
    )
    assert row.properties["color"] == "red"
    assert row.context["os"] == {"name": "Android"}


async def test_single_event_array_token_in_properties_and_gzip_js(api: Api) -> None:
    one = ev("single", "dev-1", properties={"token": api.keys.write_key, "$device_id": "dev-1"})
    r = await api.client.post("/posthog/e/", json=one)
    assert r.status_code == 200, r.text
    arr = [ev("arr", "dev-1", properties={"token": api.keys.write_key})]
    r = await api.client.post(
        "/posthog/e/?compression=gzip-js",
        content=gzip.compress(json.dumps(arr).encode()),
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 200, r.text
    form = {"data": base64.b64encode(json.dumps(arr).encode()).decode()}
    r = await api.client.post("/posthog/i/v0/e/", data=form)
    assert r.status_code == 200, r.text
    [single] = stored(api.engine, name="single")
    assert (single.user_id, single.anonymous_id) == (None, "dev-1")  # distinct_id == $device_id
    assert len(stored(api.engine, name="arr")) == 1  # the form resend was a duplicate


async def test_events_without_uuid_get_a_stable_one(api: Api) -> None:
    old = {"event": "legacy", "distinct_id": "u1", "timestamp": iso(), "properties": {"a": 1}}
    body = {"api_key": api.keys.write_key, "batch": [old]}
    for _ in range(2):
        assert (await api.client.post("/posthog/batch/", json=body)).status_code == 200
    [row] = stored(api.engine, name="legacy")
    assert row.event_id.version == 5


async def test_identify_set_and_alias(api: Api) -> None:
    key = api.keys.write_key
    batch = [
        ev(
            "$identify",
            "user-7",
            properties={
                "$anon_distinct_id": "anon-7",
                "$set": {"name": "Ada"},
                "$set_once": {"first": 1},
            },
        ),
        ev("$set", "user-7", properties={"$set": {"plan": "pro"}}),
        ev("$create_alias", "user-7", properties={"alias": "other-7"}),
    ]
    r = await api.client.post("/posthog/batch/", json={"api_key": key, "batch": batch})
    assert r.status_code == 200
    profile = get_profile(api.engine, api.keys.app_id, "user-7")
    assert profile is not None
    assert profile["traits"] == {"name": "Ada", "first": 1, "plan": "pro"}
    assert set(profile["anonymous_ids"]) == {"anon-7", "other-7"}
    [ident] = stored(api.engine, name="$identify")
    assert (ident.user_id, ident.anonymous_id) == ("user-7", "anon-7")


async def test_sent_at_skew_and_ignore_sent_at(api: Api) -> None:
    batch = [
        ev("skewed", "u1", timestamp=iso(-3605)),
        ev("unskewed", "u1", timestamp=iso(-5), properties={"$ignore_sent_at": True}),
    ]
    body = {"api_key": api.keys.write_key, "batch": batch, "sent_at": iso(-3600)}
    assert (await api.client.post("/posthog/batch/", json=body)).status_code == 200
    [skewed] = stored(api.engine, name="skewed")
    assert abs((skewed.received_at - skewed.ts) - 5_000_000) < 2_000
    [plain] = stored(api.engine, name="unskewed")
    assert plain.ts == plain.timestamp


async def test_capture_v1_results_map(api: Api) -> None:
    good, bad = ev("v1ok", "u1"), ev("", "u1")
    body = {"created_at": iso(), "batch": [good, bad]}
    r = await api.client.post(
        "/posthog/i/v1/analytics/events",
        json=body,
        headers={"Authorization": f"Bearer {api.keys.write_key}"},
    )
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert results[good["uuid"]] == {"result": "ok"}
    assert results[bad["uuid"]]["result"] == "drop"


async def test_errors_in_posthog_shape(api: Api) -> None:
    r = await api.client.post("/posthog/batch/", json={"api_key": "nope", "batch": []})
    assert r.status_code == 401
    assert r.json() == {
        "type": "authentication_error",
        "code": "invalid_api_key",
        "detail": r.json()["detail"],
        "attr": None,
    }
    r = await api.client.post("/posthog/batch/", json=[1, 2])
    assert r.status_code in (400, 401)
    status, body, headers = posthog.error_body(OverloadedError("busy", retry_after=4))
    assert (status, body["type"], headers) == (503, "throttled", {"Retry-After": "4"})


def _flags(api: Api) -> None:
    app = api.keys.app_id
    create_flag(
        api.engine,
        app,
        FlagSpec(
            key="beta", enabled=True, variants=default_variants("boolean"), default_variant="on"
        ),
        actor="t",
    )
    create_flag(
        api.engine,
        app,
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
        api.engine,
        app,
        FlagSpec(
            key="ios-only",
            enabled=True,
            variants=default_variants("boolean"),
            rules=[Rule([Condition("platform", "eq", "ios")])],
        ),
        actor="t",
    )


@pytest.mark.parametrize(
    "path", ["/posthog/flags/?v=4", "/posthog/flags?v=2", "/posthog/decide/?v=3"]
)
async def test_flags_answer_both_shapes_like_the_native_evaluator(api: Api, path: str) -> None:
    _flags(api)
    body = {
        "api_key": api.keys.write_key,
        "distinct_id": "user-42",
        "person_properties": {"platform": "ios"},
    }
    r = await api.client.post(path, json=body)
    assert r.status_code == 200, r.text
    got = r.json()
    native = await api.client.post(
        "/v1/flags/evaluate",
        json={"user_id": "user-42", "attributes": {"platform": "ios"}},
        headers={"Authorization": f"Bearer {api.keys.write_key}"},
    )
    color = native.json()["flags"]["color"]["variant"]
    assert got["featureFlags"] == {"beta": True, "color": color, "ios-only": True}
    assert got["featureFlagPayloads"] == {"color": json.dumps(color)}
    assert got["flags"]["color"]["enabled"] is True
    assert got["flags"]["color"]["variant"] == color
    assert got["flags"]["beta"]["variant"] is None


async def test_local_evaluation_definitions_need_the_secret_key(api: Api) -> None:
    _flags(api)
    r = await api.client.get(
        "/posthog/api/feature_flag/local_evaluation/?token=x",
        headers={"Authorization": f"Bearer {api.keys.write_key}"},
    )
    assert r.status_code == 403
    auth = {"Authorization": f"Bearer {api.keys.secret_key}"}
    r = await api.client.get("/posthog/flags/definitions?token=x&send_cohorts", headers=auth)
    assert r.status_code == 200
    flags = {f["key"]: f for f in r.json()["flags"]}
    # A static flag is exact; rule-based ones defer to the server (no local hashing).
    assert flags["beta"]["ensure_experience_continuity"] is False
    assert flags["beta"]["filters"]["groups"][0]["rollout_percentage"] == 100
    assert flags["color"]["ensure_experience_continuity"] is True
    again = await api.client.get(
        "/posthog/flags/definitions", headers={**auth, "If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304


async def test_flag_keys_to_evaluate_leaves_unknown_keys_out(api: Api) -> None:
    _flags(api)
    body = {
        "api_key": api.keys.write_key,
        "distinct_id": "u1",
        "flag_keys_to_evaluate": ["beta", "no-such-flag"],
    }
    r = await api.client.post("/posthog/flags/?v=4", json=body)
    assert r.json()["featureFlags"] == {"beta": True}
    assert r.json()["errorsWhileComputingFlags"] is False


async def test_sdk_exposure_events_do_not_count_as_eventkit_exposures(api: Api) -> None:
    called = ev(
        "$feature_flag_called",
        "u1",
        properties={"$feature_flag": "beta", "$feature_flag_response": True},
    )
    r = await api.client.post(
        "/posthog/batch/", json={"api_key": api.keys.write_key, "batch": [called]}
    )
    assert r.status_code == 200
    assert stored(api.engine, name="$feature_flag_called") == []
    [row] = stored(api.engine, name="$posthog_feature_flag_called")
    assert row.properties["$feature_flag"] == "beta"
