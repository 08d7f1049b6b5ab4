"""Validation of native events: per-event verdicts with field-level reasons.

The fast path decodes each event straight into :class:`NativeEvent` (msgspec, in C).
Only an event that fails takes the slow path, which inspects it field by field to
report every problem at once.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

from eventkit.capture.context import context_fields
from eventkit.capture.schema import CanonicalEvent, NativeEvent, Timestamp
from eventkit.config import LimitSettings
from eventkit.timeutil import US_PER_DAY, US_PER_SECOND, to_us

__all__ = ["EventVerdict", "FieldError", "check_event", "check_properties", "timestamp_us"]

FieldError = tuple[str, str]

_decoder = msgspec.json.Decoder(NativeEvent)
_any_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()

#: Earliest acceptable timestamp (2000-01-01): anything before is a broken clock.
MIN_TIMESTAMP_US = 946_684_800 * US_PER_SECOND


class EventVerdict(msgspec.Struct, gc=False):
    """The outcome for one event of a batch: an accepted event or its errors."""

    index: int
    event: CanonicalEvent | None
    event_id: str | None
    errors: list[FieldError]


def timestamp_us(value: Timestamp) -> int:
    """An RFC 3339 datetime or epoch milliseconds as epoch microseconds."""
    if isinstance(value, datetime):
        return to_us(value if value.tzinfo else value.replace(tzinfo=UTC))
    return int(value * 1000)


def _depth(value: Any, limit: int, level: int = 1) -> bool:
    """True when ``value`` nests containers no deeper than ``limit``."""
    if level > limit:
        return False
    if isinstance(value, dict):
        return all(
            _depth(v, limit, level + 1) for v in value.values() if isinstance(v, dict | list)
        )
    if isinstance(value, list):
        return all(_depth(v, limit, level + 1) for v in value if isinstance(v, dict | list))
    return True


def check_properties(field: str, value: dict[str, Any], limits: LimitSettings) -> list[FieldError]:
    """Size and nesting limits of a properties-like object."""
    errors: list[FieldError] = []
    if value:
        size = len(_encoder.encode(value))
        if size > limits.max_properties_bytes:
            errors.append(
                (
                    field,
                    f"is {size} bytes encoded; the limit is {limits.max_properties_bytes} "
                    "(limits.max_properties_bytes)",
                )
            )
        if not _depth(value, limits.max_property_depth):
            errors.append(
                (
                    field,
                    f"nests deeper than {limits.max_property_depth} levels "
                    "(limits.max_property_depth); flatten it",
                )
            )
    return errors


def _check_ids(ev: NativeEvent, limits: LimitSettings) -> list[FieldError]:
    errors: list[FieldError] = []
    if not ev.name:
        errors.append(("name", "must not be empty"))
    elif len(ev.name) > limits.max_name_length:
        errors.append(
            (
                "name",
                f"is {len(ev.name)} characters; the limit is {limits.max_name_length} "
                "(limits.max_name_length)",
            )
        )
    if not ev.user_id and not ev.anonymous_id:
        errors.append(("user_id", "either user_id or anonymous_id is required"))
    for field in ("user_id", "anonymous_id", "session_id"):
        value = getattr(ev, field)
        if value is not None and len(value) > limits.max_id_length:
            errors.append(
                (field, f"is {len(value)} characters; the limit is {limits.max_id_length}")
            )
    return errors


def _check_time(ts: int, received_at: int, limits: LimitSettings) -> list[FieldError]:
    if ts > received_at + limits.max_future_seconds * US_PER_SECOND:
        ahead = (ts - received_at) // US_PER_SECOND
        return [
            (
                "timestamp",
                f"is {ahead} s in the future after clock-skew correction; the limit "
                f"is {limits.max_future_seconds} s (limits.max_future_seconds). Send sent_at so "
                "eventkit can correct the device clock",
            )
        ]
    if ts < MIN_TIMESTAMP_US:
        return [("timestamp", "is before 2000-01-01; the device clock is wrong")]
    if limits.max_past_days and ts < received_at - limits.max_past_days * US_PER_DAY:
        return [("timestamp", f"is older than {limits.max_past_days} days (limits.max_past_days)")]
    return []


def check_event(
    index: int,
    raw: msgspec.Raw | bytes,
    *,
    app_id: int,
    received_at: int,
    sent_at: int | None,
    limits: LimitSettings,
    ip: str | None = None,
    source: str = "native",
) -> EventVerdict:
    """Validate one raw event and build its canonical form, or list its errors."""
    try:
        ev = _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        return _slow_verdict(index, raw, str(exc))
    errors = _check_ids(ev, limits)
    client_ts = timestamp_us(ev.timestamp)
    # Clock skew: the device clock may be wrong, but the gap between the event and the
    # batch's sent_at was measured on that same clock. Shift it onto the server's.
    ts = received_at + (client_ts - sent_at) if sent_at is not None else client_ts
    errors += _check_time(ts, received_at, limits)
    errors += check_properties("properties", ev.properties, limits)
    errors += check_properties("context", ev.context, limits)
    ctx_errors, platform, app_version, country = context_fields(ev.context)
    errors += ctx_errors
    if errors:
        return EventVerdict(index, None, str(ev.event_id), _prefixed(index, errors))
    event = CanonicalEvent(
        app_id=app_id,
        event_id=ev.event_id,
        name=ev.name,
        timestamp=client_ts,
        sent_at=sent_at,
        received_at=received_at,
        ts=ts,
        user_id=ev.user_id or None,
        anonymous_id=ev.anonymous_id or None,
        session_id=ev.session_id or None,
        platform=platform,
        app_version=app_version,
        country=country,
        ip=ip,
        source=source,
        properties=ev.properties,
        context=ev.context,
    )
    return EventVerdict(index, event, None, [])


def _prefixed(index: int, errors: list[FieldError]) -> list[FieldError]:
    return [(f"events[{index}].{field}", msg) for field, msg in errors]


_TYPES: dict[str, tuple[type | tuple[type, ...], str]] = {
    "name": (str, "a string"),
    "user_id": (str, "a string"),
    "anonymous_id": (str, "a string"),
    "session_id": (str, "a string"),
    "properties": (dict, "a JSON object"),
    "context": (dict, "a JSON object"),
}


def _slow_verdict(index: int, raw: msgspec.Raw | bytes, fallback: str) -> EventVerdict:
    """Inspect an event that failed the fast path and report each bad field."""
    try:
        obj = _any_decoder.decode(raw)
    except msgspec.DecodeError:
        return EventVerdict(index, None, None, [(f"events[{index}]", "is not valid JSON")])
    if not isinstance(obj, dict):
        return EventVerdict(index, None, None, [(f"events[{index}]", "must be a JSON object")])
    errors: list[FieldError] = []
    event_id = obj.get("event_id")
    if event_id is None:
        errors.append(("event_id", "is required: a UUID generated on the device"))
    else:
        try:
            uuid.UUID(str(event_id))
        except ValueError:
            errors.append(("event_id", f"{event_id!r} is not a UUID"))
    if obj.get("name") is None:
        errors.append(("name", "is required"))
    if obj.get("timestamp") is None:
        errors.append(("timestamp", "is required: RFC 3339 (2026-01-31T10:00:00.123Z)"))
    else:
        try:
            msgspec.convert(obj["timestamp"], Timestamp, strict=False)
        except msgspec.ValidationError:
            errors.append(
                ("timestamp", f"{obj['timestamp']!r} is not RFC 3339 nor epoch milliseconds")
            )
    for field, (typ, label) in _TYPES.items():
        value = obj.get(field)
        if value is not None and not isinstance(value, typ):
            errors.append((field, f"must be {label}, got {type(value).__name__}"))
    if not errors:
        errors.append(("", fallback))
    text_id = str(event_id) if isinstance(event_id, str) else None
    return EventVerdict(index, None, text_id, _prefixed(index, errors))
