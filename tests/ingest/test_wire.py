"""Frames between server workers and the writer process."""

from __future__ import annotations

import uuid

import msgspec

from eventkit.capture.schema import as_dict
from eventkit.ingest import wire
from eventkit.storage.dedup import KEY_SIZE, bucket_of, pack
from eventkit.storage.events import EVENT_COLUMNS, rows_and_keys
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


def test_batch_carries_rows_and_keys_as_the_store_inserts_them() -> None:
    raw_props = msgspec.Raw(b'{"b": 1, "a": [1, {"x": "\\u00e9"}]}')
    events = [
        make_event(1, properties=raw_props, timestamp=1_780_000_000_123_456),
        make_event(2, properties={"k": "v"}),  # no client time: an arrival-day bucket
    ]
    op = ProfileOp(app_id=1, user_id="u", event_id=uuid.uuid4(), at=5, set={"plan": "pro"})
    framed = wire.encode_batch(events, [op])
    (size,) = wire.HEADER.unpack(framed[: wire.HEADER.size])
    assert size == len(framed) - wire.HEADER.size
    batch = wire.decode_batch(framed[wire.HEADER.size :])
    rows, keys = rows_and_keys(events)
    assert batch.rows == rows
    assert batch.rows[0][1] == events[0].event_id.bytes
    assert batch.rows[0][EVENT_COLUMNS.index("properties")] == bytes(raw_props).decode()
    assert batch.keys == keys
    assert len(keys) == 2 * KEY_SIZE
    assert keys[:KEY_SIZE] == pack(
        bucket_of(1_780_000_000_123_456, events[0].received_at), 1, events[0].event_id.bytes
    )
    assert batch.ops == [op]
    # A spool record (the JSON form) decodes into the same rows.
    json_body = wire.encode_request(events, [op])[wire.HEADER.size :]
    assert wire.decode_batch(json_body).rows == rows


def test_response_round_trip() -> None:
    for response in (
        wire.WriteResponse(new=[True, False]),
        wire.WriteResponse(error="locked", code="database_unavailable"),
    ):
        framed = wire.encode_response(response)
        assert wire.decode_response(framed[wire.HEADER.size :]) == response
