"""Operations endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import asyncio

from litestar import Response, get
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from eventkit import __version__
from eventkit.api.deps import RuntimeDep
from eventkit.ingest.runtime import Runtime
from eventkit.lifetime import orphaned

__all__ = ["healthz", "metrics", "readyz"]


@get("/healthz", name="healthz", tags=["operations"], summary="Liveness")
async def healthz() -> dict[str, str]:
    """200 while the process is serving."""
    return {"status": "ok", "version": __version__}


def _ping(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@get("/readyz", name="readyz", tags=["operations"], summary="Readiness")
async def readyz(runtime: RuntimeDep) -> Response[dict[str, object]]:
    """200 ``ok`` when the database answers and the last commit succeeded; 200
    ``degraded`` while capture is acknowledged from the local spool (database away or
    spool replaying); 503 ``unavailable`` when nothing can be acknowledged (writer not
    running, database failing with no room in the spool, or the server's main process
    ended so this worker is stopping). The failing check is named.
    """
    writer = runtime.writer
    checks: dict[str, object] = {"writer_queue_events": writer.queued_events}
    problems = []
    try:
        await asyncio.wait_for(asyncio.to_thread(_ping, runtime), timeout=3)
        checks["database"] = "ok"
    except Exception as exc:
        problems.append("database")
        checks["database"] = f"unreachable: {str(exc).splitlines()[0] if str(exc) else exc!r}"
    if not runtime.started:
        problems.append("writer")
        checks["writer"] = "not running"
    elif writer.last_error is not None:
        # The database answers reads but the last commit failed (e.g. locked).
        problems.append("writer")
        checks["writer"] = f"last commit failed: {writer.last_error}"
    else:
        checks["writer"] = "ok"
    if orphaned():
        problems.append("main_process")
        checks["main_process"] = "ended: this worker is draining and stopping"
    spool = writer.spool
    status = "ok"
    if spool is not None:
        room = spool.bytes < spool.max_bytes
        checks["spool"] = {
            "events": spool.events,
            "bytes": spool.bytes,
            "max_bytes": spool.max_bytes,
            "oldest_seconds": round(spool.oldest_age(), 3),
            "replay_error": writer.drain_error,
        }
        if spool.events or problems:
            status = "degraded"
        if problems and (not room or not runtime.started or orphaned()):
            status = "unavailable"
    elif problems:
        status = "unavailable"
    return Response(
        {"status": status, "checks": checks},
        status_code=503 if status == "unavailable" else 200,
    )


@get(
    "/metrics",
    name="metrics",
    tags=["operations"],
    summary="Prometheus metrics",
    media_type=CONTENT_TYPE_LATEST,
)
async def metrics(runtime: RuntimeDep) -> Response[bytes]:
    """Counters and histograms in the Prometheus text format."""
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
