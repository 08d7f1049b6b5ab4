"""``POST /v1/events`` served in front of Litestar, for the servers ``eventkit serve`` runs.

A single-event request spends most of its time outside eventkit's own code; Litestar's
routing, dependency injection, request and response objects were about a tenth of it
(docs/performance.md). This ASGI wrapper answers ``POST /v1/events`` itself with the
same steps as the Litestar route (``eventkit.api.capture.capture_events``): the same key
check and failed-key limit, the same rate limits, the same ingest service, the same error
bodies and request metrics. Every other request, and every request when CORS is
configured (Litestar adds its headers), goes to the Litestar app unchanged.
``tests/api/test_fastpath.py`` checks that both answer every kind of request alike.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, cast

import msgspec
from litestar import Litestar
from litestar.types import ASGIApp

from eventkit.api.auth import check_key, check_scope, key_in_headers
from eventkit.api.errors import error_parts, internal_error_body
from eventkit.errors import EventKitError
from eventkit.ingest.runtime import Runtime

__all__ = ["with_capture_fast_path"]

log = logging.getLogger("eventkit.api")

# The ASGI shapes as they arrive (Litestar's TypedDicts are stricter than needed here).
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_ROUTE = "/v1/events"
_JSON = (b"content-type", b"application/json")
_TOO_LARGE = (
    b'{"status":413,"error":"payload_too_large","message":"the request body exceeds '
    b'server.max_request_bytes; send smaller batches"}'
)


class _TooLarge(Exception):
    pass


class _Gone(Exception):
    """The client disconnected before its body arrived: nothing to answer."""


_encoder = msgspec.json.Encoder()


def with_capture_fast_path(app: Litestar) -> ASGIApp:
    """``app``, with ``POST /v1/events`` answered before Litestar (unless CORS is on)."""
    if app.cors_config is not None:
        return app
    return cast(ASGIApp, _FastCapture(app))


class _FastCapture:
    def __init__(self, app: Litestar) -> None:
        self.app = app
        self.state = app.state
        limit = app.request_max_body_size
        self.max_body = limit if isinstance(limit, int) else 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != _ROUTE
            or scope["method"] != "POST"
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)  # type: ignore[arg-type]
            return
        started = time.perf_counter()
        runtime: Runtime = self.state.runtime
        status = 500
        try:
            status, body, headers = await self._capture(scope, receive, runtime)
        except EventKitError as exc:
            status, body, extra = error_parts(exc)
            headers = [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
        except _TooLarge:
            status, body, headers = 413, _TOO_LARGE, []
        except _Gone:
            status = 499  # counted in the request metrics, never sent
            return
        except Exception:
            log.exception("unhandled error on POST %s", _ROUTE)
            status, body, headers = 500, internal_error_body(), []
        finally:
            runtime.metrics.observe_request(_ROUTE, status, time.perf_counter() - started)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-length", str(len(body)).encode()), _JSON, *headers],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _capture(
        self, scope: Scope, receive: Receive, runtime: Runtime
    ) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
        client = scope.get("client")
        address = client[0] if client else None
        limiter = self.state.limiter
        # The capture scope: a write key, the secret key or a token that has it
        # (WRITE_KEY in eventkit.api.deps).
        key = check_scope(
            await check_key(limiter, self.state.key_cache, address, key_in_headers(headers)),
            "capture",
        )
        limiter.admit(key.app_id)
        body = await self._body(receive, headers)
        result = await runtime.capture.capture(
            key.app_id,
            body,
            content_encoding=headers.get("content-encoding"),
            ip=address,
            user_agent=headers.get("user-agent"),
        )
        limiter.charge(key.app_id, result.accepted + result.duplicates + len(result.rejected))
        # Every event invalid: the batch failed as a whole (a client bug, not a retry case).
        status = 400 if result.rejected and not result.accepted and not result.duplicates else 200
        return status, _encoder.encode(result), []

    async def _body(self, receive: Receive, headers: dict[str, str]) -> bytes:
        """The request body, refused past ``server.max_request_bytes`` (as Litestar)."""
        length = headers.get("content-length")
        if (
            self.max_body
            and length is not None
            and length.isdigit()
            and int(length) > self.max_body
        ):
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _Gone
            chunk = message.get("body", b"")
            size += len(chunk)
            if self.max_body and size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
