"""Content encodings and the decompressed-size limit."""

from __future__ import annotations

import gzip
import zlib

import pytest

from eventkit.capture.decode import decode_body
from eventkit.errors import InvalidRequestError, PayloadTooLargeError

BODY = b'{"events": []}' * 10


def test_identity_passes_through() -> None:
    assert decode_body(BODY, None, 1000) == BODY
    assert decode_body(BODY, "identity", 1000) == BODY


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("gzip", gzip.compress(BODY, mtime=0)),
        ("GZIP", gzip.compress(BODY, mtime=0)),
        ("deflate", zlib.compress(BODY)),
        ("deflate", zlib.compress(BODY)[2:-4]),  # raw deflate, as some clients send
    ],
)
def test_compressed_bodies(encoding: str, data: bytes) -> None:
    assert decode_body(data, encoding, 1000) == BODY


def test_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)
    assert len(bomb) < 100_000
    with pytest.raises(PayloadTooLargeError, match="max_body_bytes"):
        decode_body(bomb, "gzip", 1_000_000)


def test_plain_body_over_limit() -> None:
    with pytest.raises(PayloadTooLargeError):
        decode_body(b"x" * 2000, None, 1000)


def test_corrupt_and_unknown() -> None:
    with pytest.raises(InvalidRequestError, match="not valid gzip"):
        decode_body(b"not gzip at all", "gzip", 1000)
    with pytest.raises(InvalidRequestError, match="unsupported Content-Encoding"):
        decode_body(BODY, "br", 1000)
