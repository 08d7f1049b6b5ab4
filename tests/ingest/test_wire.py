"""Frames between server workers and the writer process."""

from __future__ import annotations

import uuid

import msgspec

from eventkit.capture.schema import as_dict
from eventkit.ingest import wire
from eventkit.storage.users import ProfileOp
from tests.factories import make_event


def test_request_round_trip_keeps_raw_json_verbatim() -> None:
    raw_props = msgspec.Raw(b'{"b": 1, "a": [1, {"x": "\\u00e9"}]}')
    events = [make_event(1, properties=raw_props), make_event(2, properties={"k": "v"})]
    op = ProfileOp(
        app_id=1,
        user_id="u",
        event_id=uuid.uuid4(),
        at=5,
        anonymous_id="d",
        set={"plan": "pro"},
        set_once={"first": 1},
    )
    framed = wire.encode_request(events, [op])
    (size,) = wire.HEADER.unpack(framed[: wire.HEADER.size])
    assert size == len(framed) - wire.HEADER.size
    req = wire.decode_request(framed[wire.HEADER.size :])
    assert bytes(req.events[0].properties) == bytes(raw_props)  # not re-encoded
    assert as_dict(req.events[1].properties) == {"k": "v"}
    for sent, got in zip(events, req.events, strict=True):
        assert got.event_id == sent.event_id
        assert (got.name, got.ts, got.anonymous_id) == (sent.name, sent.ts, sent.anonymous_id)
    assert req.ops == [op]


def test_response_round_trip() -> None:
    for response in (
        wire.WriteResponse(new=[True, False]),
        wire.WriteResponse(error="locked", code="database_unavailable"),
    ):
        framed = wire.encode_response(response)
        assert wire.decode_response(framed[wire.HEADER.size :]) == response
