"""Request bodies: content encodings and the decompressed-size limit.

Decompression is incremental with a cap on the output, so a small gzip bomb costs at
most ``limits.max_body_bytes`` of memory before it is refused with 413.
"""

from __future__ import annotations

import zlib

from eventkit.errors import InvalidRequestError, PayloadTooLargeError

__all__ = ["decode_body"]


def _inflate(body: bytes, wbits: int, limit: int) -> bytes:
    d = zlib.decompressobj(wbits)
    out = d.decompress(body, limit + 1)
    if len(out) > limit or d.unconsumed_tail:
        raise PayloadTooLargeError(
            f"the request body is larger than {limit} bytes once decompressed "
            "(limits.max_body_bytes); send fewer events per request"
        )
    return out


def decode_body(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    """Undo ``Content-Encoding`` (identity, gzip, deflate) and enforce the size limit.

    Raises:
        PayloadTooLargeError: the (decompressed) body exceeds ``limit`` bytes.
        InvalidRequestError: the encoding is unknown or the compressed data is corrupt.
    """
    encoding = (content_encoding or "identity").strip().lower()
    try:
        if encoding in ("identity", ""):
            out = body
        elif encoding in ("gzip", "x-gzip"):
            out = _inflate(body, 16 + zlib.MAX_WBITS, limit)
        elif encoding == "deflate":
            # RFC 9110 deflate is zlib-wrapped; some clients send raw deflate.
            try:
                out = _inflate(body, zlib.MAX_WBITS, limit)
            except zlib.error:
                out = _inflate(body, -zlib.MAX_WBITS, limit)
        else:
            raise InvalidRequestError(
                f"unsupported Content-Encoding {content_encoding!r}: send identity, gzip or deflate"
            )
    except zlib.error as exc:
        raise InvalidRequestError(
            f"the body is not valid {encoding} data ({exc}); check Content-Encoding"
        ) from None
    if len(out) > limit:
        raise PayloadTooLargeError(
            f"the request body is {len(out)} bytes, larger than {limit} "
            "(limits.max_body_bytes); send fewer events per request"
        )
    return out
