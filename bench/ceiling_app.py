"""Ceiling (a) of the ingest benchmark: the HTTP stack without eventkit.

A Litestar app with ``POST /v1/events`` that reads the body, decodes it with msgspec
into eventkit's own :class:`~eventkit.capture.schema.Envelope`, decodes every raw event
into :class:`~eventkit.capture.schema.NativeEvent`, throws the result away and answers a
small JSON body shaped like eventkit's verdict. No auth, no validation rules, no
storage: whatever eventkit measures below this is the price of those.

It is served exactly as ``eventkit serve`` serves eventkit (see
``eventkit/cli/serve.py::_run_server``): same ASGI server, same options, same worker
count. Run by ``bench/ingest.py``::

    python bench/ceiling_app.py --server granian --port 8001 --workers 1
"""

from __future__ import annotations

import argparse

import msgspec
from litestar import Litestar, Request, Response, get, post

from eventkit.capture.schema import Envelope, NativeEvent
from eventkit.cli.serve import run_asgi

FACTORY = "ceiling_app:create_app"

_envelope = msgspec.json.Decoder(Envelope)
_event = msgspec.json.Decoder(NativeEvent)


@post("/v1/events", status_code=200)
async def capture_events(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    """Decode the batch and each event, discard them, answer like eventkit does."""
    body = await request.body()
    envelope = _envelope.decode(body)
    decode = _event.decode
    for raw in envelope.events:
        decode(raw)
    n = len(envelope.events)
    return Response(
        content=b'{"accepted":%d,"duplicates":0,"rejected":[],"duplicate_event_ids":[]}' % n,
        status_code=200,
        media_type="application/json",
    )


@get("/healthz")
async def healthz() -> dict[str, str]:
    """Readiness probe for the benchmark driver."""
    return {"status": "ok"}


def create_app() -> Litestar:
    """Factory, like ``eventkit.api.app:create_app_from_env``."""
    return Litestar(
        route_handlers=[capture_events, healthz],
        request_max_body_size=10 * 1024 * 1024,  # eventkit's server.max_request_bytes
        logging_config=None,
        debug=False,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", choices=["granian", "uvicorn"], default="granian")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    # The very function `eventkit serve` uses: the same server, options and workers.
    run_asgi(FACTORY, server=args.server, host=args.host, port=args.port, workers=args.workers)


if __name__ == "__main__":
    main()
