"""The native batch format (``POST /v1/events``): per-event verdicts with field-level
reasons.

Each event is decoded straight into :class:`NativeEvent` (msgspec, in C) and handed to
:func:`eventkit.capture.canonical.canonical_event`. Only an event that does not decode
takes the slow path, which inspects it field by field to report every problem at once.
"""

from __future__ import annotations

import uuid

import msgspec

from eventkit.capture.canonical import Arrival, Draft, canonical_event
from eventkit.capture.schema import CanonicalEvent, NativeEvent, Timestamp
from eventkit.capture.validate import FieldError, timestamp_us

__all__ = ["EventVerdict", "check_event"]

_decoder = msgspec.json.Decoder(NativeEvent)
_any_decoder = msgspec.json.Decoder()


class EventVerdict(msgspec.Struct, gc=False):
    """The outcome for one event of a batch: an accepted event or its errors."""

    index: int
    event: CanonicalEvent | None
    event_id: str | None
    errors: list[FieldError]


_NO_ERRORS: list[FieldError] = []


def check_event(index: int, raw: msgspec.Raw | bytes, at: Arrival) -> EventVerdict:
    """Validate one raw event of a batch and build its canonical form, or list its
    errors (field paths prefixed ``events[index].``)."""
    try:
        ev = _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        return _slow_verdict(index, raw, str(exc))
    draft = Draft(
        ev.name,
        ev.event_id,
        timestamp_us(ev.timestamp),
        ev.user_id,
        ev.anonymous_id,
        ev.session_id,
        ev.properties,
        ev.context,
    )
    out = canonical_event(draft, at)
    if isinstance(out, CanonicalEvent):
        return EventVerdict(index, out, None, _NO_ERRORS)
    return EventVerdict(index, None, str(ev.event_id), _prefixed(index, out))


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
