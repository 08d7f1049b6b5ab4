"""Operations endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import asyncio

from litestar import Request, Response, get
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from eventkit import __version__
from eventkit.api.runtime import Runtime

__all__ = ["healthz", "metrics", "readyz"]


@get("/healthz", name="healthz", tags=["operations"], summary="Liveness")
async def healthz() -> dict[str, str]:
    """200 while the process is serving."""
    return {"status": "ok", "version": __version__}


def _ping(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@get("/readyz", name="readyz", tags=["operations"], summary="Readiness")
async def readyz(request: Request) -> Response[dict[str, object]]:  # type: ignore[type-arg]
    """200 when the database answers and the writer is running and its last commit
    succeeded; 503 otherwise, with the failing check named."""
    runtime: Runtime = request.app.state.runtime
    checks: dict[str, object] = {"writer_queue_events": runtime.writer.queued_events}
    ok = True
    try:
        await asyncio.wait_for(asyncio.to_thread(_ping, runtime), timeout=3)
        checks["database"] = "ok"
    except Exception as exc:
        ok = False
        checks["database"] = f"unreachable: {str(exc).splitlines()[0] if str(exc) else exc!r}"
    if not runtime.started:
        ok = False
        checks["writer"] = "not running"
    elif runtime.writer.last_error is not None:
        # The database answers reads but the last commit failed (e.g. locked).
        ok = False
        checks["writer"] = f"last commit failed: {runtime.writer.last_error}"
    else:
        checks["writer"] = "ok"
    return Response(
        {"status": "ok" if ok else "unavailable", "checks": checks},
        status_code=200 if ok else 503,
    )


@get(
    "/metrics",
    name="metrics",
    tags=["operations"],
    summary="Prometheus metrics",
    media_type=CONTENT_TYPE_LATEST,
)
async def metrics(request: Request) -> Response[bytes]:  # type: ignore[type-arg]
    """Counters and histograms in the Prometheus text format."""
    runtime: Runtime = request.app.state.runtime
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
