"""POST /v1/events and /v1/identify over real HTTP: storage of every field, per-event
rejections, dedup of retries, clock-skew correction, identify semantics."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from eventkit.storage.apps import resolve_key
from eventkit.storage.events import count_events
from eventkit.storage.users import get_profile
from tests.e2e.conftest import ServerProcess, event, iso, stored, stored_ids, us

pytestmark = pytest.mark.e2e


def app_id(server: ServerProcess, db: Engine) -> int:
    assert server.write_key
    found = resolve_key(db, server.write_key)
    assert found is not None
    return found.app_id


# -- valid batches --------------------------------------------------------------------


def test_valid_batch_is_stored_with_every_field(http: httpx.Client, db: Engine) -> None:
    device = f"device-{uuid.uuid4().hex}"
    when = datetime.now(UTC) - timedelta(minutes=5)
    events = [
        event(
            name="purchase",
            timestamp=iso(when + timedelta(seconds=i)),
            user_id="user-42",
            anonymous_id=device,
            session_id="session-7",
            properties={"price": 9.99, "items": ["a", "b"], "n": i, "gift": False},
            context={
                "os": {"name": "iOS", "version": "18.1"},
                "app": {"version": "2.3.1", "build": "231"},
                "device": {"model": "iPhone16,2"},
                "locale": "de-DE",
            },
        )
        for i in range(3)
    ]
    resp = http.post("/v1/events", json={"events": events})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "accepted": 3,
        "duplicates": 0,
        "rejected": [],
        "duplicate_event_ids": [],
    }
    rows = {str(e.event_id): e for e in stored(db, anonymous_id=device)}
    assert set(rows) == {e["event_id"] for e in events}
    for i, sent in enumerate(events):
        row = rows[sent["event_id"]]
        assert row.name == "purchase"
        assert (row.user_id, row.anonymous_id, row.session_id) == ("user-42", device, "session-7")
        assert row.properties == {"price": 9.99, "items": ["a", "b"], "n": i, "gift": False}
        assert row.context == sent["context"]
        assert row.platform == "ios"
        assert row.app_version == "2.3.1"
        assert row.source == "native"
        assert row.timestamp == us(when + timedelta(seconds=i))
        assert row.ts == row.timestamp  # no sent_at: nothing to correct
        assert row.sent_at is None
        assert 0 <= row.received_at - row.timestamp < 600 * 1_000_000


def test_android_platform_and_epoch_millisecond_timestamps(http: httpx.Client, db: Engine) -> None:
    ms = int(time.time() * 1000) - 10_000
    ev = event(timestamp=ms, context={"os": {"name": "Android"}, "app": {"version": 17}})
    resp = http.post("/v1/events", json={"events": [ev]})
    assert resp.status_code == 200, resp.text
    [row] = stored(db, anonymous_id=ev["anonymous_id"])
    assert row.timestamp == ms * 1000
    assert (row.platform, row.app_version) == ("android", "17")


# -- rejections -------------------------------------------------------------------------

INVALID: dict[str, tuple[dict[str, Any], str, str]] = {
    # case: (overrides, field, fragment of the message)
    "missing event_id": ({"event_id": ...}, "event_id", "is required"),
    "bad uuid": ({"event_id": "not-a-uuid"}, "event_id", "is not a UUID"),
    "missing timestamp": ({"timestamp": ...}, "timestamp", "is required"),
    "bad timestamp": ({"timestamp": "yesterday"}, "timestamp", "not RFC 3339"),
    "name not a string": ({"name": 42}, "name", "must be a string"),
    "empty name": ({"name": ""}, "name", "must not be empty"),
    "no user nor device": ({"anonymous_id": ...}, "user_id", "user_id or anonymous_id"),
    "properties not an object": ({"properties": [1, 2]}, "properties", "must be a JSON object"),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_event_is_rejected_and_the_rest_stored(
    case: str, http: httpx.Client, db: Engine
) -> None:
    overrides, field, fragment = INVALID[case]
    device = f"device-{uuid.uuid4().hex}"
    good = [event(anonymous_id=device), event(anonymous_id=device)]
    bad = event(**overrides)
    resp = http.post("/v1/events", json={"events": [good[0], bad, good[1]]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    [rejection] = body["rejected"]
    assert rejection["index"] == 1
    sent_id = bad.get("event_id")
    assert rejection["event_id"] == (sent_id if isinstance(sent_id, str) else None)
    fields = {e["field"]: e["message"] for e in rejection["errors"]}
    assert f"events[1].{field}" in fields, rejection
    assert fragment in fields[f"events[1].{field}"]
    assert sorted(stored_ids(db, anonymous_id=device)) == sorted(g["event_id"] for g in good)


def test_every_problem_of_one_event_is_reported(http: httpx.Client) -> None:
    bad = event(timestamp=..., name=7, properties="x")
    resp = http.post("/v1/events", json={"events": [event(), bad]})
    assert resp.status_code == 200
    [rejection] = resp.json()["rejected"]
    assert {e["field"] for e in rejection["errors"]} == {
        "events[1].timestamp",
        "events[1].name",
        "events[1].properties",
    }


def test_batch_of_only_invalid_events_is_400_with_the_batch_body(
    http: httpx.Client, db: Engine
) -> None:
    device = f"device-{uuid.uuid4().hex}"
    events = [
        event(anonymous_id=device, event_id="nope"),
        event(anonymous_id=device, name=""),
        "not an object",
    ]
    resp = http.post("/v1/events", json={"events": events})
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert (body["accepted"], body["duplicates"], body["duplicate_event_ids"]) == (0, 0, [])
    assert [r["index"] for r in body["rejected"]] == [0, 1, 2]
    assert body["rejected"][0]["event_id"] == "nope"
    assert body["rejected"][1]["event_id"] == events[1]["event_id"]
    assert body["rejected"][2] == {
        "index": 2,
        "event_id": None,
        "errors": [{"field": "events[2]", "message": "must be a JSON object"}],
    }
    assert stored(db, anonymous_id=device) == []


# -- dedup ----------------------------------------------------------------------------------


def test_retried_batch_is_reported_as_duplicates_and_stored_once(
    http: httpx.Client, db: Engine
) -> None:
    device = f"device-{uuid.uuid4().hex}"
    events = [event(anonymous_id=device, properties={"i": i}) for i in range(5)]
    first = http.post("/v1/events", json={"events": events})
    assert first.status_code == 200
    assert (first.json()["accepted"], first.json()["duplicates"]) == (5, 0)
    retry = http.post("/v1/events", json={"events": events})
    assert retry.status_code == 200, retry.text
    body = retry.json()
    assert (body["accepted"], body["duplicates"], body["rejected"]) == (0, 5, [])
    assert body["duplicate_event_ids"] == [e["event_id"] for e in events]
    assert sorted(stored_ids(db, anonymous_id=device)) == sorted(e["event_id"] for e in events)


def test_partly_retried_batch_stores_only_the_new_events(http: httpx.Client, db: Engine) -> None:
    device = f"device-{uuid.uuid4().hex}"
    old = [event(anonymous_id=device) for _ in range(2)]
    new = [event(anonymous_id=device) for _ in range(3)]
    assert http.post("/v1/events", json={"events": old}).status_code == 200
    resp = http.post("/v1/events", json={"events": [new[0], old[0], new[1], old[1], new[2]]})
    body = resp.json()
    assert (body["accepted"], body["duplicates"]) == (3, 2)
    assert body["duplicate_event_ids"] == [old[0]["event_id"], old[1]["event_id"]]
    assert len(stored(db, anonymous_id=device)) == 5


def test_same_event_twice_in_one_batch_is_stored_once(http: httpx.Client, db: Engine) -> None:
    ev = event()
    body = http.post("/v1/events", json={"events": [ev, ev]}).json()
    assert (body["accepted"], body["duplicates"]) == (1, 1)
    assert stored_ids(db, anonymous_id=ev["anonymous_id"]) == [ev["event_id"]]


def test_concurrent_duplicate_submissions_store_each_event_once(
    server: ServerProcess, db: Engine
) -> None:
    device = f"device-{uuid.uuid4().hex}"
    batch = {"events": [event(anonymous_id=device, properties={"i": i}) for i in range(20)]}
    clients = 5
    barrier = threading.Barrier(clients)
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            with server.client() as c:
                barrier.wait()
                resp = c.post("/v1/events", json=batch)
                assert resp.status_code == 200, resp.text
                results.append(resp.json())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sum(r["accepted"] for r in results) == 20
    assert sum(r["duplicates"] for r in results) == 20 * (clients - 1)
    ids = stored_ids(db, anonymous_id=device)
    assert len(ids) == 20
    assert set(ids) == {e["event_id"] for e in batch["events"]}


# -- clock skew ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "device_offset", [timedelta(hours=-3), timedelta(hours=5)], ids=["behind", "ahead"]
)
def test_sent_at_corrects_a_wrong_device_clock(
    device_offset: timedelta, http: httpx.Client, db: Engine
) -> None:
    device_now = datetime.now(UTC) + device_offset
    sent_at = device_now
    happened = device_now - timedelta(seconds=90, microseconds=250)
    ev = event(timestamp=iso(happened))
    before = us(datetime.now(UTC))
    resp = http.post("/v1/events", json={"sent_at": iso(sent_at), "events": [ev]})
    after = us(datetime.now(UTC))
    assert resp.status_code == 200, resp.text
    assert resp.json()["accepted"] == 1
    [row] = stored(db, anonymous_id=ev["anonymous_id"])
    assert row.timestamp == us(happened)
    assert row.sent_at == us(sent_at)
    assert before - 1_000_000 <= row.received_at <= after + 1_000_000
    expected = row.received_at + (us(happened) - us(sent_at))
    assert abs(row.ts - expected) <= 1_000_000
    # The corrected time is on the server's clock: about 90 s ago, not hours off.
    assert abs(row.ts - (before - 90 * 1_000_000)) < 10 * 1_000_000


def test_without_sent_at_the_client_timestamp_is_kept(http: httpx.Client, db: Engine) -> None:
    happened = datetime.now(UTC) - timedelta(hours=2)
    ev = event(timestamp=iso(happened))
    assert http.post("/v1/events", json={"events": [ev]}).status_code == 200
    [row] = stored(db, anonymous_id=ev["anonymous_id"])
    assert row.ts == row.timestamp == us(happened)
    assert row.sent_at is None


def test_old_events_are_kept_when_max_past_days_is_unset(http: httpx.Client, db: Engine) -> None:
    happened = datetime(2001, 2, 3, 4, 5, 6, 789000, tzinfo=UTC)
    ev = event(timestamp=iso(happened))
    assert http.post("/v1/events", json={"events": [ev]}).json()["accepted"] == 1
    [row] = stored(db, anonymous_id=ev["anonymous_id"])
    assert row.ts == us(happened)


# -- identify ------------------------------------------------------------------------------


def test_identify_links_the_device_and_applies_set_and_set_once(
    server: ServerProcess, http: httpx.Client, db: Engine
) -> None:
    user, device = f"user-{uuid.uuid4().hex}", f"device-{uuid.uuid4().hex}"
    first = http.post(
        "/v1/identify",
        json={
            "user_id": user,
            "anonymous_id": device,
            "set": {"plan": "free", "name": "Ada"},
            "set_once": {"first_platform": "ios"},
        },
    )
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["duplicate"] is False
    uuid.UUID(body["event_id"])
    second = http.post(
        "/v1/identify",
        json={
            "user_id": user,
            "set": {"plan": "pro"},
            "set_once": {"first_platform": "android", "signup": "2026-01"},
        },
    )
    assert second.status_code == 200, second.text
    assert second.json()["duplicate"] is False
    profile = get_profile(db, app_id(server, db), user)
    assert profile is not None
    assert profile["traits"] == {
        "plan": "pro",
        "name": "Ada",
        "first_platform": "ios",
        "signup": "2026-01",
    }
    assert profile["anonymous_ids"] == [device]
    identifies = stored(db, user_id=user, name="$identify")
    assert {str(e.event_id) for e in identifies} == {body["event_id"], second.json()["event_id"]}


def test_retried_identify_is_a_duplicate_and_changes_nothing(
    server: ServerProcess, http: httpx.Client, db: Engine
) -> None:
    user = f"user-{uuid.uuid4().hex}"
    free = {"user_id": user, "anonymous_id": "phone", "set": {"plan": "free"}}
    pro = {"user_id": user, "set": {"plan": "pro"}}
    first = http.post("/v1/identify", json=free).json()
    assert http.post("/v1/identify", json=pro).json()["duplicate"] is False
    profile = get_profile(db, app_id(server, db), user)
    assert profile is not None
    # The client retries the first call (its answer got lost): nothing may change.
    retry = http.post("/v1/identify", json=free)
    assert retry.status_code == 200
    assert retry.json() == {"event_id": first["event_id"], "duplicate": True}
    again = get_profile(db, app_id(server, db), user)
    assert again == profile
    assert again is not None
    assert again["traits"] == {"plan": "pro"}
    assert len(stored(db, user_id=user, name="$identify")) == 2


def test_identify_with_an_empty_user_id_is_400_naming_the_field(
    http: httpx.Client, db: Engine
) -> None:
    before = count_events(db)
    resp = http.post("/v1/identify", json={"user_id": "", "anonymous_id": "d"})
    assert resp.status_code == 400
    body = resp.json()
    assert (body["status"], body["error"]) == (400, "invalid_event")
    assert body["errors"] == [{"field": "user_id", "message": "must not be empty"}]
    resp = http.post("/v1/identify", json={"anonymous_id": "d"})
    assert resp.status_code == 400
    assert resp.json()["error"] == "invalid_request"
    assert "user_id" in resp.json()["message"]
    assert count_events(db) == before
