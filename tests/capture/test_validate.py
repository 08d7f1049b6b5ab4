"""Per-event validation: the fast path, field-level reasons, limits, clock skew."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest

from eventkit.capture.canonical import Arrival
from eventkit.capture.native import check_event
from eventkit.capture.schema import as_dict
from eventkit.config import LimitSettings
from eventkit.timeutil import US_PER_SECOND, to_us

RECEIVED = 1_790_000_000 * US_PER_SECOND


def raw(**fields: Any) -> bytes:
    event: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "name": "screen_view",
        "timestamp": "2026-09-21T14:13:20Z",
        "anonymous_id": "dev-1",
    }
    event.update(fields)
    return msgspec.json.encode({k: v for k, v in event.items() if v is not ...})


def check(body: bytes, sent_at: int | None = None, **limits: Any) -> Any:
    at = Arrival(7, "native", RECEIVED, sent_at, LimitSettings(**limits), None)
    return check_event(3, body, at)


def fields(verdict: Any) -> set[str]:
    return {f for f, _ in verdict.errors}


def test_valid_event_becomes_canonical() -> None:
    eid = str(uuid.uuid4())
    v = check(
        raw(
            event_id=eid,
            user_id="u1",
            session_id="s1",
            properties={"a": 1},
            context={
                "os": {"name": "Android", "version": "14"},
                "app": {"version": "3.1.0", "build": "310"},
                "location": {"country": "de"},
            },
        )
    )
    assert v.errors == []
    e = v.event
    assert str(e.event_id) == eid
    assert (e.app_id, e.name, e.user_id, e.session_id) == (7, "screen_view", "u1", "s1")
    assert (e.platform, e.app_version, e.country) == ("android", "3.1.0", "DE")
    assert e.timestamp == e.ts == to_us_iso("2026-09-21T14:13:20Z")
    assert e.received_at == RECEIVED
    assert as_dict(e.properties) == {"a": 1}


def to_us_iso(text: str) -> int:
    from datetime import datetime

    return to_us(datetime.fromisoformat(text.replace("Z", "+00:00")))


def test_epoch_milliseconds_timestamp() -> None:
    v = check(raw(timestamp=1_789_999_000_123))
    assert v.event.timestamp == 1_789_999_000_123_000


def test_clock_skew_is_corrected_with_sent_at() -> None:
    # The device clock is 3 hours behind; the event happened 40 s before sending.
    device_sent = RECEIVED - 3 * 3600 * US_PER_SECOND
    event_time = device_sent - 40 * US_PER_SECOND
    v = check(raw(timestamp=event_time // 1000), sent_at=device_sent)
    assert v.event.ts == RECEIVED - 40 * US_PER_SECOND
    assert v.event.timestamp == event_time
    assert v.event.sent_at == device_sent


def test_every_bad_field_is_reported_at_once() -> None:
    v = check(
        msgspec.json.encode(
            {"event_id": "nope", "name": 5, "timestamp": "yesterday", "properties": [1]}
        )
    )
    assert v.event is None
    assert fields(v) == {
        "events[3].event_id",
        "events[3].name",
        "events[3].timestamp",
        "events[3].properties",
    }
    assert v.event_id == "nope"


def test_missing_required_fields() -> None:
    v = check(msgspec.json.encode({"anonymous_id": "d"}))
    assert fields(v) == {"events[3].event_id", "events[3].name", "events[3].timestamp"}


def test_needs_user_or_anonymous_id() -> None:
    v = check(raw(anonymous_id=None))
    assert fields(v) == {"events[3].user_id"}
    assert "anonymous_id" in v.errors[0][1]


@pytest.mark.parametrize(
    ("event", "limits", "field", "words"),
    [
        ({"name": ""}, {}, "name", "empty"),
        ({"name": "x" * 11}, {"max_name_length": 10}, "name", "max_name_length"),
        ({"user_id": "u" * 20}, {"max_id_length": 10}, "user_id", "limit is 10"),
        (
            {"properties": {"k": "v" * 100}},
            {"max_properties_bytes": 64},
            "properties",
            "max_properties_bytes",
        ),
        (
            {"properties": {"a": {"b": {"c": 1}}}},
            {"max_property_depth": 2},
            "properties",
            "max_property_depth",
        ),
        ({"context": {"os": "iOS"}}, {}, "context.os", "object"),
        (
            {"timestamp": "2026-09-21T16:13:21Z"},
            {"max_future_seconds": 3600},
            "timestamp",
            "future",
        ),
        ({"timestamp": "1999-12-31T00:00:00Z"}, {}, "timestamp", "2000"),
        (
            {"timestamp": "2026-01-01T00:00:00Z"},
            {"max_past_days": 30},
            "timestamp",
            "max_past_days",
        ),
    ],
)
def test_limits(event: dict[str, Any], limits: dict[str, Any], field: str, words: str) -> None:
    v = check(raw(**event), **limits)
    assert v.event is None
    assert fields(v) == {f"events[3].{field}"}
    assert words in v.errors[0][1]


def test_depth_at_the_limit_is_fine() -> None:
    v = check(raw(properties={"a": {"b": [1]}}), max_property_depth=3)
    assert v.errors == []


def test_not_an_object() -> None:
    assert check(b"[1,2]").errors == [("events[3]", "must be a JSON object")]


def test_reserved_names() -> None:
    assert check(raw(name="$screen")).errors == []
    v = check(raw(name="$identify"))
    assert fields(v) == {"events[3].name"} and "/v1/identify" in v.errors[0][1]
    v = check(raw(name="$made_up"))
    assert "reserved" in v.errors[0][1] and "$session_start" in v.errors[0][1]


def test_every_bad_context_field_is_reported() -> None:
    v = check(raw(context={"os": "iOS", "locale": 5, "device": {"model": "x"}}))
    assert v.errors == [
        ("events[3].context.os", "must be a JSON object"),
        ("events[3].context.locale", "must be a string"),
    ]
    v = check(raw(context=[1]))
    assert v.errors == [("events[3].context", "must be a JSON object")]


def test_unknown_context_fields_are_kept_verbatim() -> None:
    ctx = {"os": {"name": "iOS", "extra": {"deep": 1}}, "campaign": {"source": "ad"}}
    v = check(raw(context=ctx))
    assert v.errors == []
    assert as_dict(v.event.context) == ctx


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"name": "bad\x00name"}, "events[3].name"),
        ({"user_id": "u\x00"}, "events[3].user_id"),
        ({"anonymous_id": "\x00dev"}, "events[3].anonymous_id"),
        ({"session_id": "s\x00"}, "events[3].session_id"),
        ({"properties": {"screen": "home\x00"}}, "events[3].properties"),
        ({"properties": {"a": [{"k\x00ey": 1}]}}, "events[3].properties"),
        ({"context": {"locale": "en\x00"}}, "events[3].context"),
    ],
)
def test_nul_characters_are_refused_per_field(event: dict[str, Any], field: str) -> None:
    """PostgreSQL cannot store U+0000: refused on every database, naming the field."""
    v = check(raw(**event))
    assert v.event is None
    assert fields(v) == {field}
    assert any("NUL character" in msg and "\\u0000" in msg for _, msg in v.errors)


def test_escaped_backslash_before_u0000_is_not_a_nul() -> None:
    text = "C:\\u0000 is a path, not a NUL"  # a backslash, then the letters u0000
    body = raw(properties={"path": text})
    assert b"\\\\u0000" in body  # JSON escapes the backslash: the byte pattern appears
    v = check(body)
    assert v.event is not None
    assert as_dict(v.event.properties) == {"path": text}
