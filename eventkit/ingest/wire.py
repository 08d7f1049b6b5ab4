"""The frames exchanged between server workers and the writer process.

A frame is a 4-byte big-endian length and a JSON body (msgspec). Properties and context
travel as the client's JSON text, never decoded on the way.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import msgspec

from eventkit.capture.schema import CanonicalEvent
from eventkit.storage.users import ProfileOp

__all__ = [
    "HEADER",
    "WireEvent",
    "WriteRequest",
    "WriteResponse",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "frame",
]

HEADER = struct.Struct(">I")


class WireEvent(CanonicalEvent, gc=False):
    """A canonical event as it crosses the socket: properties and context stay JSON text."""

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


_encoder = msgspec.json.Encoder()
_request = msgspec.json.Decoder(WriteRequest)
_response = msgspec.json.Decoder(WriteResponse)


def frame(body: bytes) -> bytes:
    """Prefix a body with its length."""
    return HEADER.pack(len(body)) + body


def encode_request(events: Sequence[CanonicalEvent], ops: Sequence[ProfileOp]) -> bytes:
    """A framed write request."""
    return frame(_encoder.encode({"events": events, "ops": ops}))


def encode_response(response: WriteResponse) -> bytes:
    """A framed response."""
    return frame(_encoder.encode(response))


def decode_request(body: bytes) -> WriteRequest:
    """Decode a request frame's body."""
    return _request.decode(body)


def decode_response(body: bytes) -> WriteResponse:
    """Decode a response frame's body."""
    return _response.decode(body)
