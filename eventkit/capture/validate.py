"""Validation of native events: per-event verdicts with field-level reasons.

The fast path decodes each event straight into :class:`NativeEvent` (msgspec, in C).
Only an event that fails takes the slow path, which inspects it field by field to
report every problem at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import msgspec

from eventkit.capture.context import ContextInfo, context_info
from eventkit.capture.names import check_name
from eventkit.capture.schema import CanonicalEvent, NativeEvent, Timestamp
from eventkit.config import LimitSettings
from eventkit.timeutil import US_PER_DAY, US_PER_SECOND, to_us

__all__ = [
    "NUL_MESSAGE",
    "EventVerdict",
    "FieldError",
    "check_event",
    "check_properties",
    "check_text_fields",
    "check_time",
    "corrected_time",
    "timestamp_us",
]

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
    us = value * 1000
    if not -_FAR_US <= us <= _FAR_US:  # inf, NaN, 1e305, 10**30
        # Clamped, so the time checks reject it (and a stored sent_at fits a BIGINT)
        # instead of int() or the database raising: a 500 found by fuzzing.
        return _FAR_US if us > 0 else -_FAR_US
    return int(us)


#: A bound far outside every valid time, within a BIGINT (found by fuzzing).
_FAR_US = 2**62


def _depth_ok(value: Any, limit: int) -> bool:
    """True when ``value`` nests containers no deeper than ``limit`` (iterative)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return False
        for child in node.values() if type(node) is dict else node:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, depth + 1))
    return True


def check_properties(
    field: str, value: dict[str, Any] | msgspec.Raw, limits: LimitSettings
) -> list[FieldError]:
    """Type, size and nesting limits of a properties-like object.

    For JSON text the checks read the bytes: the size is its length, and a text with
    fewer brackets than the depth limit cannot nest too deep, so only deeply
    bracketed values are parsed.
    """
    if isinstance(value, msgspec.Raw):
        text = bytes(value)
        if text[:1] != b"{":
            return [(field, "must be a JSON object")]
        size = len(text)
        shallow = text.count(b"{") + text.count(b"[") <= limits.max_property_depth
        parsed: Any = None if shallow else _any_decoder.decode(text)
    else:
        if not value:
            return []
        text = _encoder.encode(value)
        size = len(text)
        shallow = False
        parsed = value
    errors: list[FieldError] = []
    # JSON text carries NUL only as the escape \u0000; a match can also be an escaped
    # backslash followed by "u0000", so a match is settled by parsing.
    if _NUL_ESCAPE in text and _has_nul(
        parsed if parsed is not None else _any_decoder.decode(text)
    ):
        errors.append((field, f"a key or value {NUL_MESSAGE}"))
    if size > limits.max_properties_bytes:
        errors.append(
            (
                field,
                f"is {size} bytes encoded; the limit is {limits.max_properties_bytes} "
                "(limits.max_properties_bytes)",
            )
        )
    if not shallow and not _depth_ok(parsed, limits.max_property_depth):
        errors.append(
            (
                field,
                f"nests deeper than {limits.max_property_depth} levels "
                "(limits.max_property_depth); flatten it",
            )
        )
    return errors


#: Why text with U+0000 is refused: PostgreSQL cannot store it (text or jsonb), and C
#: tools downstream truncate at it. Refused on every database, per event.
NUL_MESSAGE = "contains a NUL character (\\u0000), which cannot be stored; remove it"
_NUL_ESCAPE = b"\\u0000"


def _has_nul(value: Any) -> bool:
    """Whether a decoded JSON value holds U+0000 in any string or key."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in k or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def check_text_fields(fields: Iterable[tuple[str, str | None]]) -> list[FieldError]:
    """A NUL character in any of the named text values."""
    return [(name, NUL_MESSAGE) for name, value in fields if value and "\x00" in value]


def _check_ids(ev: NativeEvent, limits: LimitSettings) -> list[FieldError]:
    errors: list[FieldError] = check_text_fields(
        (
            ("name", ev.name),
            ("user_id", ev.user_id),
            ("anonymous_id", ev.anonymous_id),
            ("session_id", ev.session_id),
        )
    )
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
    elif ev.name[0] == "$" and (why := check_name(ev.name)):
        errors.append(("name", why))
    if not ev.user_id and not ev.anonymous_id:
        errors.append(("user_id", "either user_id or anonymous_id is required"))
    for field in ("user_id", "anonymous_id", "session_id"):
        value = getattr(ev, field)
        if value is not None and len(value) > limits.max_id_length:
            errors.append(
                (
                    field,
                    f"is {len(value)} characters; the limit is {limits.max_id_length} "
                    "(limits.max_id_length)",
                )
            )
    return errors


def corrected_time(client_ts: int, sent_at: int | None, received_at: int) -> int:
    """The event time on the server's clock. The device clock may be wrong, but the gap
    between the event and the batch's ``sent_at`` was measured on that same clock: shift
    it onto the server's (``received_at``). Without ``sent_at``, the client's time."""
    return received_at + (client_ts - sent_at) if sent_at is not None else client_ts


def check_time(ts: int, received_at: int, limits: LimitSettings) -> list[FieldError]:
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
    """Validate one raw event and build its canonical form, or list its errors.

    The common case (a valid event) is decided with a few cheap predicates; only an
    event that fails one of them runs the detailed checks that name each problem.
    """
    try:
        ev = _decoder.decode(raw)
    except msgspec.ValidationError as exc:
        return _slow_verdict(index, raw, str(exc))
    client_ts = timestamp_us(ev.timestamp)
    ts = corrected_time(client_ts, sent_at, received_at)
    name, uid, aid, sid = ev.name, ev.user_id, ev.anonymous_id, ev.session_id
    props, ctx_text = bytes(ev.properties), bytes(ev.context)
    max_id, depth, size = (
        limits.max_id_length,
        limits.max_property_depth,
        limits.max_properties_bytes,
    )
    ctx = _context_checked(ctx_text, limits)
    if not (
        0 < len(name) <= limits.max_name_length
        and name[0] != "$"
        and (uid or aid)
        and (uid is None or len(uid) <= max_id)
        and (aid is None or len(aid) <= max_id)
        and (sid is None or len(sid) <= max_id)
        and MIN_TIMESTAMP_US <= ts <= received_at + limits.max_future_seconds * US_PER_SECOND
        and not limits.max_past_days
        and props[:1] == b"{"
        and _NUL_ESCAPE not in props
        and "\x00" not in name
        and (uid is None or "\x00" not in uid)
        and (aid is None or "\x00" not in aid)
        and (sid is None or "\x00" not in sid)
        and len(props) <= size
        and props.count(b"{") + props.count(b"[") <= depth
        and not ctx.errors
    ):
        errors = _check_ids(ev, limits)
        errors += check_time(ts, received_at, limits)
        errors += check_properties("properties", ev.properties, limits)
        errors += ctx.errors
        if errors:
            return EventVerdict(index, None, str(ev.event_id), _prefixed(index, errors))
    return EventVerdict(
        index,
        CanonicalEvent(
            app_id,
            ev.event_id,
            name,
            client_ts,
            sent_at,
            received_at,
            ts,
            uid or None,
            aid or None,
            sid or None,
            ctx.platform,
            ctx.app_version,
            ctx.country,
            ip,
            source,
            ev.properties,
            ev.context,
        ),
        None,
        _NO_ERRORS,
    )


_NO_ERRORS: list[FieldError] = []
_ctx_cache: dict[tuple[bytes, int, int], ContextInfo] = {}


def _context_checked(text: bytes, limits: LimitSettings) -> ContextInfo:
    """Limits and typed fields of a context, memoised on its bytes: a mobile batch
    repeats one device's context in every event."""
    key = (text, limits.max_properties_bytes, limits.max_property_depth)
    info = _ctx_cache.get(key)
    if info is None:
        if len(_ctx_cache) >= 4096:
            _ctx_cache.clear()
        raw = msgspec.Raw(text)
        errors = check_properties("context", raw, limits)
        info = ContextInfo(errors) if errors else context_info(raw)
        _ctx_cache[key] = info
    return info


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
