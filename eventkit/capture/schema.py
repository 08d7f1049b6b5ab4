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
    "CanonicalEvent",
    "Envelope",
    "IdentifyRequest",
    "NativeEvent",
    "Timestamp",
]

#: RFC 3339 string, or epoch milliseconds as a number.
Timestamp = datetime | int | float


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
    properties: dict[str, Any] = {}
    context: dict[str, Any] = {}


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
    """An accepted event, ready to store. Instants are epoch microseconds."""

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
    properties: dict[str, Any]
    context: dict[str, Any]
