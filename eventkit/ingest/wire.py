"""The frames exchanged between server workers and the writer process, and the spool's
record bodies.

A frame is a 4-byte big-endian length and a body. A write sent to the writer process
(``encode_batch``) is MessagePack: the events already as ``events`` rows (the values
``EventStore.write_rows`` inserts: 16-byte ids, the client's JSON text for properties
and context) and their packed dedup keys, so the writer process, the one serial step of
ingest, only decodes and inserts, and the server workers, which scale, convert. The
spool keeps the readable JSON form (``encode_request``: canonical events, properties
and context as the client's text), which is what ``rejected/*.json`` files hold.
Responses are JSON.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any

import msgspec

from eventkit.capture.schema import CanonicalEvent
from eventkit.storage.events import rows_and_keys
from eventkit.storage.users import ProfileOp

__all__ = [
    "HEADER",
    "WireBatch",
    "WireEvent",
    "WriteRequest",
    "WriteResponse",
    "decode_batch",
    "decode_request",
    "decode_response",
    "encode_batch",
    "encode_request",
    "encode_response",
    "frame",
]

HEADER = struct.Struct(">I")


class WireBatch(msgspec.Struct, array_like=True, gc=False):
    """A write request as the writer process reads it: rows, packed keys, operations."""

    rows: list[tuple[Any, ...]]
    keys: bytes
    ops: list[ProfileOp] = []


class WireEvent(CanonicalEvent, gc=False):
    """A canonical event in the JSON form: properties and context stay JSON text."""

    properties: msgspec.Raw
    context: msgspec.Raw


class WriteRequest(msgspec.Struct):
    """Events and identify operations to commit together."""

    events: list[WireEvent]
    ops: list[ProfileOp] = []


class WriteResponse(msgspec.Struct):
    """Per event, stored (True) or duplicate (False); or why nothing was stored."""

    new: list[bool] = []
    error: str | None = None
    code: str | None = None


_encoder = msgspec.msgpack.Encoder(uuid_format="bytes")
_batch = msgspec.msgpack.Decoder(WireBatch)
_json_encoder = msgspec.json.Encoder()
_request = msgspec.json.Decoder(WriteRequest)
_response = msgspec.json.Decoder(WriteResponse)


def frame(body: bytes) -> bytes:
    """Prefix a body with its length."""
    return HEADER.pack(len(body)) + body


def encode_batch(events: Sequence[CanonicalEvent], ops: Sequence[ProfileOp]) -> bytes:
    """A framed write for the writer process."""
    rows, keys = rows_and_keys(events)
    return frame(_encoder.encode(WireBatch(rows, keys, list(ops))))


def decode_batch(body: bytes) -> WireBatch:
    """Decode the body of an ``encode_batch`` frame (or of an ``encode_request`` one)."""
    if body[:1] == b"{":
        request = _request.decode(body)
        rows, keys = rows_and_keys(request.events)
        return WireBatch(rows, keys, request.ops)
    return _batch.decode(body)


def encode_request(events: Sequence[CanonicalEvent], ops: Sequence[ProfileOp]) -> bytes:
    """A framed write in the JSON form (the spool's records)."""
    return frame(_json_encoder.encode({"events": events, "ops": ops}))


def decode_request(body: bytes) -> WriteRequest:
    """Decode the body of an ``encode_request`` frame."""
    return _request.decode(body)


def encode_response(response: WriteResponse) -> bytes:
    """A framed response."""
    return frame(_json_encoder.encode(response))


def decode_response(body: bytes) -> WriteResponse:
    """Decode a response frame's body."""
    return _response.decode(body)
