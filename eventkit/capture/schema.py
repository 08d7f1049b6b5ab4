"""Wire schemas of the native capture API and the canonical event.

Every protocol eventkit speaks is decoded into :class:`CanonicalEvent`, the one shape
the ingest pipeline, plugins and storage see (docs/event_tracking_schema.md).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

__all__ = [
    "EMPTY_OBJECT",
    "CanonicalEvent",
    "Envelope",
    "IdentifyRequest",
    "NativeEvent",
    "Timestamp",
    "as_dict",
]

#: RFC 3339 string, or epoch milliseconds as a number.
Timestamp = datetime | int | float

#: The JSON text ``{}``.
EMPTY_OBJECT = msgspec.Raw(b"{}")

_any = msgspec.json.Decoder()


def as_dict(value: dict[str, Any] | msgspec.Raw) -> dict[str, Any]:
    """A properties/context value as a dict (decoding JSON text when needed)."""
    if isinstance(value, msgspec.Raw):
        decoded: dict[str, Any] = _any.decode(value)
        return decoded
    return value


class Envelope(msgspec.Struct):
    """``POST /v1/events`` body: a batch of events and when the device sent it."""

    events: list[msgspec.Raw]
    sent_at: Timestamp | None = None


class NativeEvent(msgspec.Struct):
    """One event as a client sends it to ``POST /v1/events``."""

    event_id: uuid.UUID
    name: str
    timestamp: Timestamp
    user_id: str | None = None
    anonymous_id: str | None = None
    session_id: str | None = None
    properties: msgspec.Raw = EMPTY_OBJECT
    context: msgspec.Raw = EMPTY_OBJECT


class IdentifyRequest(msgspec.Struct):
    """``POST /v1/identify`` body: link a device to a user and set traits."""

    user_id: str
    anonymous_id: str | None = None
    set: dict[str, Any] = {}
    set_once: dict[str, Any] = {}
    event_id: uuid.UUID | None = None
    timestamp: Timestamp | None = None
    sent_at: Timestamp | None = None
    context: dict[str, Any] = {}


class CanonicalEvent(msgspec.Struct, gc=False):
    """An accepted event, ready to store. Instants are epoch microseconds.

    ``properties`` and ``context`` are dicts, or (on the native fast path) the JSON
    text of one as ``msgspec.Raw``, stored without re-encoding; read them with
    :func:`as_dict`.
    """

    app_id: int
    event_id: uuid.UUID
    name: str
    timestamp: int
    sent_at: int | None
    received_at: int
    ts: int
    user_id: str | None
    anonymous_id: str | None
    session_id: str | None
    platform: str | None
    app_version: str | None
    country: str | None
    ip: str | None
    source: str
    properties: dict[str, Any] | msgspec.Raw
    context: dict[str, Any] | msgspec.Raw
