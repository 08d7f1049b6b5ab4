"""PostHog end to end: the real posthog-python client (capture v0 and v1, remote and
local flag evaluation) against ``eventkit serve``; raw replays of PostHog mobile 3.x."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from posthog import Posthog
from sqlalchemy.engine import Engine

from eventkit.flags.spec import Condition, FlagSpec, Rule, Variant, default_variants
from eventkit.flags.store import create_flag
from eventkit.storage.apps import resolve_key
from eventkit.storage.users import get_profile
from tests.e2e.conftest import ServerProcess, stored

pytestmark = pytest.mark.e2e


def _client(server: ServerProcess, errors: list[Any], **kw: Any) -> Posthog:
    assert server.write_key
    return Posthog(
        server.write_key,
        host=f"{server.url}/posthog",
        on_error=lambda e, batch: errors.append(e),
        **kw,
    )


@pytest.mark.parametrize("mode", ["v0", "v1"])
def test_posthog_python_capture_set_group_alias(
    server: ServerProcess, db: Engine, mode: str
) -> None:
    errors: list[Any] = []
    user = f"ph-user-{mode}"
    ph = _client(server, errors, capture_mode=mode, gzip=True)
    ph.capture("song_played", distinct_id=user, properties={"genre": "jazz"})
    ph.capture("$screen", distinct_id=user, properties={"$screen_name": "Player"})
    ph.set(distinct_id=user, properties={"plan": "pro"})
    ph.set_once(distinct_id=user, properties={"source": "ad"})
    ph.group_identify("company", f"acme-{mode}", {"seats": 5})
    ph.alias(previous_id=user, distinct_id=f"ph-alias-{mode}")
    ph.flush()
    ph.shutdown()
    assert errors == []
    names = {e.name for e in stored(db, user_id=user)}
    assert {"song_played", "$screen", "$set", "$set_once", "$create_alias"} <= names
    [song] = stored(db, user_id=user, name="song_played")
    assert song.properties["genre"] == "jazz" and song.source == "posthog"
    assert (
        len(
            [
                e
                for e in stored(db, name="$groupidentify")
                if e.properties.get("$group_key") == f"acme-{mode}"
            ]
        )
        == 1
    )
    assert server.write_key
    key = resolve_key(db, server.write_key)
    assert key is not None
    profile = get_profile(db, key.app_id, user)
    assert profile is not None
    assert profile["traits"] == {"plan": "pro", "source": "ad"}
    assert profile["anonymous_ids"] == [f"ph-alias-{mode}"]


@pytest.fixture(scope="module")
def flags(server: ServerProcess, db: Engine) -> None:
    assert server.write_key
    key = resolve_key(db, server.write_key)
    assert key is not None
    create_flag(
        db,
        key.app_id,
        FlagSpec(
            key="ph-static",
            enabled=True,
            variants=default_variants("boolean"),
            default_variant="on",
        ),
        actor="t",
    )
    create_flag(
        db,
        key.app_id,
        FlagSpec(
            key="ph-color",
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
        db,
        key.app_id,
        FlagSpec(
            key="ph-ios",
            enabled=True,
            variants=default_variants("boolean"),
            rules=[Rule([Condition("platform", "eq", "ios")])],
        ),
        actor="t",
    )


def _native(server: ServerProcess, user: str, attrs: dict[str, Any]) -> dict[str, Any]:
    with server.client() as http:
        r = http.post("/v1/flags/evaluate", json={"user_id": user, "attributes": attrs})
        flags: dict[str, Any] = r.json()["flags"]
        return flags


@pytest.mark.usefixtures("flags")
@pytest.mark.parametrize("local", [False, True])
def test_posthog_python_flags_match_the_native_evaluator(
    server: ServerProcess, local: bool
) -> None:
    errors: list[Any] = []
    kw: dict[str, Any] = {"secret_key": server.secret_key} if local else {}
    ph = _client(server, errors, **kw)
    try:
        for n in range(10):
            user = f"ph-flag-user-{n}"
            native = _native(server, user, {"platform": "ios"})
            flags = ph.evaluate_flags(user, person_properties={"platform": "ios"})
            assert flags.get_flag("ph-color") == native["ph-color"]["variant"]
            assert flags.get_flag_payload("ph-color") == native["ph-color"]["value"]
            assert flags.is_enabled("ph-static") is True
            assert flags.is_enabled("ph-ios") is True
        if local:  # the definitions were loaded with the secret key
            assert {f["key"] for f in ph.feature_flags or []} == {"ph-static", "ph-color", "ph-ios"}
        android = ph.evaluate_flags("ph-flag-user-0", person_properties={"platform": "android"})
        assert android.is_enabled("ph-ios") is False
        assert sorted(android.keys) == ["ph-color", "ph-ios", "ph-static"]
    finally:
        ph.shutdown()
    assert errors == []


def test_mobile_3x_sent_at_and_missing_uuid(server: ServerProcess, db: Engine) -> None:
    """posthog-ios/android 3.x: batch with sent_at, device clock off, events without uuid
    in older versions; a resend of the same batch must not duplicate."""
    device_now = datetime.now(UTC) - timedelta(hours=2)  # the device clock is 2 h behind
    events = [
        {
            "event": "$identify",
            "distinct_id": "ph-mobile-user",
            "timestamp": (device_now - timedelta(seconds=30)).isoformat(),
            "properties": {
                "$anon_distinct_id": "ph-mobile-dev",
                "$device_id": "ph-mobile-dev",
                "$set": {"name": "Grace"},
                "$os": "iOS",
                "$app_version": "9.0",
                "$lib": "posthog-ios",
                "$lib_version": "3.1.0",
            },
        },
        {
            "event": "app_opened",
            "distinct_id": "ph-mobile-user",
            "timestamp": (device_now - timedelta(seconds=20)).isoformat(),
            "properties": {"$os": "iOS", "$session_id": "ph-sess-1"},
        },
    ]
    body = json.dumps(
        {"api_key": server.write_key, "batch": events, "sent_at": device_now.isoformat()}
    )
    for _ in range(2):
        r = httpx.post(
            f"{server.url}/posthog/batch",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        assert (r.status_code, r.json()) == (200, {"status": 1})
    rows = stored(db, user_id="ph-mobile-user")
    assert sorted(r.name for r in rows) == ["$identify", "app_opened"]
    for row in rows:
        lag = (row.received_at - row.ts) / 1e6
        assert 15 < lag < 40, (row.name, lag)  # about 30 s and 20 s ago, not 2 h
        assert row.platform == "ios"
    assert server.write_key
    key = resolve_key(db, server.write_key)
    assert key is not None
    profile = get_profile(db, key.app_id, "ph-mobile-user")
    assert profile is not None and profile["anonymous_ids"] == ["ph-mobile-dev"]


def test_capture_paths_never_redirect(server: ServerProcess) -> None:
    ev = {
        "api_key": server.write_key,
        "event": "slash",
        "distinct_id": "ph-slash",
        "uuid": str(uuid.uuid4()),
    }
    for path in ("/posthog/e/", "/posthog/i/v0/e/", "/posthog/capture/", "/posthog/batch/"):
        r = httpx.post(f"{server.url}{path}", json=ev, follow_redirects=False)
        assert r.status_code == 200, (path, r.status_code, r.text)
