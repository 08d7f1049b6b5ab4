"""The field checks every protocol shares: times, properties-like objects, text.

Each check returns ``(field, message)`` pairs naming the canonical field; callers
prefix them with the protocol's path (``events[3].``, ``batch[3].``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import msgspec

from eventkit.capture.schema import Timestamp
from eventkit.config import LimitSettings
from eventkit.timeutil import US_PER_DAY, US_PER_SECOND, to_us

__all__ = [
    "MIN_TIMESTAMP_US",
    "NUL_ESCAPE",
    "NUL_MESSAGE",
    "FieldError",
    "check_properties",
    "check_text_fields",
    "check_time",
    "corrected_time",
    "timestamp_us",
]

FieldError = tuple[str, str]

_any_decoder = msgspec.json.Decoder()
_encoder = msgspec.json.Encoder()

#: Earliest acceptable timestamp (2000-01-01): anything before is a broken clock.
MIN_TIMESTAMP_US = 946_684_800 * US_PER_SECOND


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
    if NUL_ESCAPE in text and _has_nul(parsed if parsed is not None else _any_decoder.decode(text)):
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
NUL_ESCAPE = b"\\u0000"


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
