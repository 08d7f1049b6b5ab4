"""Capture limits and request bodies over real HTTP: every limit answers with a 4xx body
naming it; gzip/deflate bodies; a gzip bomb is refused without hurting the server."""

from __future__ import annotations

import gzip
import json
import time
import uuid
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from tests.e2e.conftest import ServerProcess, event, iso, stored, stored_ids

pytestmark = pytest.mark.e2e

MAX_BODY = 64 * 1024
MAX_REQUEST = 256 * 1024


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    return {
        "EVENTKIT_LIMITS__MAX_BODY_BYTES": str(MAX_BODY),
        "EVENTKIT_LIMITS__MAX_BATCH_EVENTS": "10",
        "EVENTKIT_LIMITS__MAX_PROPERTIES_BYTES": "256",
        "EVENTKIT_LIMITS__MAX_PROPERTY_DEPTH": "2",
        "EVENTKIT_LIMITS__MAX_NAME_LENGTH": "20",
        "EVENTKIT_LIMITS__MAX_ID_LENGTH": "16",
        "EVENTKIT_LIMITS__MAX_FUTURE_SECONDS": "60",
        "EVENTKIT_LIMITS__MAX_PAST_DAYS": "30",
        "EVENTKIT_SERVER__MAX_REQUEST_BYTES": str(MAX_REQUEST),
    }


def device() -> str:
    return f"d-{uuid.uuid4().hex[:12]}"


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def assert_error(resp: httpx.Response, status: int, code: str, *fragments: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"status", "error", "message"}, body
    assert (body["status"], body["error"]) == (status, code)
    for fragment in fragments:
        assert fragment in body["message"], body["message"]


# -- per-event limits: the valid event at the boundary is kept, the one over it rejected ----

PER_EVENT: dict[str, tuple[dict[str, Any], dict[str, Any], str, str]] = {
    # case: (at the limit, over the limit, rejected field, limit named in the message)
    "properties size": (
        {"properties": {"blob": "x" * 200}},
        {"properties": {"blob": "x" * 300}},
        "properties",
        "limits.max_properties_bytes",
    ),
    "context size": (
        {"context": {"device": {"model": "x" * 200}}},
        {"context": {"device": {"model": "x" * 300}}},
        "context",
        "limits.max_properties_bytes",
    ),
    "property depth": (
        {"properties": {"a": {"b": 1}, "l": [1]}},
        {"properties": {"a": {"b": {"c": 1}}}},
        "properties",
        "limits.max_property_depth",
    ),
    "array depth": (
        {"properties": {"a": [1, 2]}},
        {"properties": {"a": [[1]]}},
        "properties",
        "limits.max_property_depth",
    ),
    "name length": ({"name": "n" * 20}, {"name": "n" * 21}, "name", "limits.max_name_length"),
    "user_id length": (
        {"user_id": "u" * 16},
        {"user_id": "u" * 17},
        "user_id",
        "limits.max_id_length",
    ),
    "anonymous_id length": (
        {"anonymous_id": "a" * 16},
        {"anonymous_id": "a" * 17},
        "anonymous_id",
        "limits.max_id_length",
    ),
    "session_id length": (
        {"session_id": "s" * 16},
        {"session_id": "s" * 17},
        "session_id",
        "limits.max_id_length",
    ),
    "future timestamp": (
        {"timestamp": timedelta(seconds=30)},
        {"timestamp": timedelta(minutes=10)},
        "timestamp",
        "limits.max_future_seconds",
    ),
    "past timestamp": (
        {"timestamp": -timedelta(days=29)},
        {"timestamp": -timedelta(days=31)},
        "timestamp",
        "limits.max_past_days",
    ),
}


def _now_relative(fields: dict[str, Any]) -> dict[str, Any]:
    """Times given as an offset from now become ISO times when the test runs (not when
    the module is collected: a long run would turn "10 minutes ahead" into the past)."""
    now = datetime.now(UTC)
    return {k: iso(now + v) if isinstance(v, timedelta) else v for k, v in fields.items()}


@pytest.mark.parametrize("case", list(PER_EVENT))
def test_per_event_limit_rejects_only_the_event_over_it(
    case: str, http: httpx.Client, db: Engine
) -> None:
    ok_fields, bad_fields, field, limit = PER_EVENT[case]
    ok = event(**_now_relative(ok_fields))
    bad = event(**_now_relative(bad_fields))
    resp = http.post("/v1/events", json={"events": [ok, bad]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["accepted"] == 1
    [rejection] = body["rejected"]
    assert (rejection["index"], rejection["event_id"]) == (1, bad["event_id"])
    messages = [e["message"] for e in rejection["errors"] if e["field"] == f"events[1].{field}"]
    assert messages, rejection
    assert limit in messages[0]
    assert stored_ids(db, name=ok["name"], anonymous_id=ok["anonymous_id"]) == [ok["event_id"]]
    assert stored(db, anonymous_id=bad["anonymous_id"]) == []


def test_a_timestamp_before_2000_is_rejected(http: httpx.Client) -> None:
    resp = http.post("/v1/events", json={"events": [event(timestamp="1970-01-02T00:00:00Z")]})
    assert resp.status_code == 400
    [rejection] = resp.json()["rejected"]
    assert rejection["errors"][0]["field"] == "events[0].timestamp"
    assert "2000" in rejection["errors"][0]["message"]


# -- batch limits ---------------------------------------------------------------------------


def test_events_per_batch_limit_is_413(http: httpx.Client, db: Engine) -> None:
    d = device()
    ok = http.post("/v1/events", json={"events": [event(anonymous_id=d) for _ in range(10)]})
    assert ok.status_code == 200
    assert ok.json()["accepted"] == 10
    d2 = device()
    resp = http.post("/v1/events", json={"events": [event(anonymous_id=d2) for _ in range(11)]})
    assert_error(resp, 413, "payload_too_large", "11 events", "limits.max_batch_events")
    assert stored(db, anonymous_id=d2) == []


def test_body_larger_than_max_body_bytes_is_413(http: httpx.Client, db: Engine) -> None:
    d = device()
    payload = {"events": [event(anonymous_id=d, properties={"pad": "x" * MAX_BODY})]}
    resp = http.post("/v1/events", content=body_of(payload))
    assert_error(resp, 413, "payload_too_large", "limits.max_body_bytes")
    assert stored(db, anonymous_id=d) == []


def test_compressed_body_larger_than_max_body_bytes_once_inflated_is_413(
    http: httpx.Client,
) -> None:
    payload = {"events": [event(properties={"pad": " " * (MAX_BODY + 10)})]}
    compressed = gzip.compress(body_of(payload))
    assert len(compressed) < MAX_BODY // 10
    resp = http.post("/v1/events", content=compressed, headers={"Content-Encoding": "gzip"})
    assert_error(resp, 413, "payload_too_large", "decompressed", "limits.max_body_bytes")


def test_body_larger_than_max_request_bytes_is_413_on_the_wire(http: httpx.Client) -> None:
    resp = http.post("/v1/events", content=b" " * (MAX_REQUEST + 1))
    assert_error(resp, 413, "payload_too_large", "server.max_request_bytes")


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"events": [', "not valid JSON"),
        (b"", "not valid JSON"),
        (b'{"batch": []}', "events"),
        (b'{"events": {}}', "events"),
        (b'{"events": []}', "no events"),
        (b"[1, 2]", "schema"),
    ],
    ids=["truncated", "empty body", "no events key", "events not a list", "empty events", "array"],
)
def test_malformed_batch_is_400_with_a_message(
    content: bytes, fragment: str, http: httpx.Client
) -> None:
    resp = http.post("/v1/events", content=content, headers={"Content-Type": "application/json"})
    assert_error(resp, 400, "invalid_request", fragment)


# -- content encodings ------------------------------------------------------------------------


def _raw_deflate(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", _raw_deflate),
        ("GZIP", gzip.compress),
        ("identity", lambda b: b),
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw", "gzip-upper-case", "identity"],
)
def test_compressed_bodies_are_accepted(
    encoding: str, compress: Any, http: httpx.Client, db: Engine
) -> None:
    d = device()
    events = [event(anonymous_id=d) for _ in range(3)]
    resp = http.post(
        "/v1/events",
        content=compress(body_of({"events": events})),
        headers={"Content-Encoding": encoding, "Content-Type": "application/json"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["accepted"] == 3
    assert sorted(stored_ids(db, anonymous_id=d)) == sorted(e["event_id"] for e in events)


def test_identify_accepts_gzip(http: httpx.Client) -> None:
    body = gzip.compress(body_of({"user_id": f"u-{uuid.uuid4().hex[:8]}", "set": {"a": 1}}))
    resp = http.post("/v1/identify", content=body, headers={"Content-Encoding": "gzip"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["duplicate"] is False


def test_gzip_bomb_is_refused_quickly_and_the_server_lives_on(
    server: ServerProcess, http: httpx.Client, db: Engine
) -> None:
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < MAX_REQUEST
    started = time.monotonic()
    resp = http.post("/v1/events", content=bomb, headers={"Content-Encoding": "gzip"})
    elapsed = time.monotonic() - started
    assert_error(resp, 413, "payload_too_large", "limits.max_body_bytes")
    assert elapsed < 5, f"refusing the bomb took {elapsed:.1f} s"
    assert server.process.poll() is None
    assert http.get("/healthz").status_code == 200
    ev = event()
    assert http.post("/v1/events", json={"events": [ev]}).json()["accepted"] == 1
    assert stored_ids(db, anonymous_id=ev["anonymous_id"]) == [ev["event_id"]]


@pytest.mark.parametrize(
    ("encoding", "content"),
    [
        ("gzip", b"\x1f\x8b\x08\x00garbage-that-is-not-deflate-data"),
        ("gzip", b'{"events": []}'),
        ("deflate", b"definitely not deflate"),
    ],
    ids=["corrupt gzip", "plain json labelled gzip", "corrupt deflate"],
)
def test_corrupt_compressed_body_is_400(encoding: str, content: bytes, http: httpx.Client) -> None:
    resp = http.post("/v1/events", content=content, headers={"Content-Encoding": encoding})
    assert_error(resp, 400, "invalid_request", f"not valid {encoding} data")


def test_unknown_content_encoding_is_400(http: httpx.Client) -> None:
    resp = http.post(
        "/v1/events",
        content=body_of({"events": [event()]}),
        headers={"Content-Encoding": "br"},
    )
    assert_error(resp, 400, "invalid_request", "Content-Encoding", "'br'")


@pytest.mark.parametrize(
    ("fields", "field", "limit"),
    [
        ({"user_id": "u" * 17}, "user_id", "limits.max_id_length"),
        ({"user_id": "u", "anonymous_id": "a" * 17}, "anonymous_id", "limits.max_id_length"),
        ({"user_id": "u", "set": {"bio": "x" * 300}}, "set", "limits.max_properties_bytes"),
        ({"user_id": "u", "set_once": {"a": {"b": {"c": 1}}}}, "set_once", "max_property_depth"),
    ],
    ids=["user_id", "anonymous_id", "set size", "set_once depth"],
)
def test_identify_limits_are_400_naming_the_field_and_limit(
    fields: dict[str, Any], field: str, limit: str, http: httpx.Client, db: Engine
) -> None:
    resp = http.post("/v1/identify", json=fields)
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert (body["status"], body["error"]) == (400, "invalid_event")
    [error] = body["errors"]
    assert error["field"] == field
    assert limit in error["message"]
    assert limit in body["message"]
