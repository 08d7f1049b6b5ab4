"""``create_app``: the one place where the API is wired together."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.enums import ScopeType
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from eventkit import __version__
from eventkit.api.auth import KeyCache
from eventkit.api.deps import RUNTIME
from eventkit.api.errors import exception_handlers
from eventkit.api.fastpath import with_capture_fast_path
from eventkit.api.limits import Limiter
from eventkit.config import CorsSettings, Settings, load_settings
from eventkit.ingest.runtime import Runtime
from eventkit.lifetime import SERVE_PID_ENV, end_with_parent
from eventkit.logs import configure_logging
from eventkit.plugins.manager import call_hook, get_plugin_manager, iter_results
from eventkit.scheduler import build_scheduler
from eventkit.storage.leases import make_leases

__all__ = ["create_app", "create_app_from_env"]

log = logging.getLogger("eventkit.server")


def _metrics_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await app(scope, receive, send_wrapper)
        finally:
            runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
            if runtime is not None:
                # The matched route's template: bounded label values, never ids.
                route = scope.get("path_template") or "other"
                runtime.metrics.observe_request(route, status, time.perf_counter() - started)

    return middleware


def _cors(cors: CorsSettings) -> CORSConfig | None:
    """Cross-origin access for browsers: off (no CORS headers at all) unless origins are
    configured."""
    if not cors.allow_origins:
        return None
    return CORSConfig(
        allow_origins=cors.allow_origins,
        allow_methods=cors.allow_methods,  # type: ignore[arg-type]
        allow_headers=cors.allow_headers,
        max_age=cors.max_age,
    )


def create_app(settings: Settings, *, runtime: Runtime | None = None) -> Litestar:
    """Build the Litestar application for ``settings``.

    The database schema must already be migrated (``eventkit serve`` does it).
    """
    rt = runtime or Runtime.build(settings)
    pm = get_plugin_manager()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        rt.writer.start()
        rt.started = True
        leases = make_leases(settings) if settings.scheduler.enabled else None
        scheduler = build_scheduler(settings, leases=leases) if leases is not None else None
        if scheduler is not None:
            scheduler.start()
        call_hook(pm, "eventkit_startup", settings=settings)
        log.info("eventkit %s ready on %s", __version__, settings.url)
        try:
            yield
        finally:
            rt.started = False
            log.info("shutting down: draining %d queued events", rt.writer.queued_events)
            if scheduler is not None:
                scheduler.shutdown(wait=False)
            if leases is not None:
                leases.close()
            await rt.flags.drain()  # exposures still on their way to the writer
            await rt.writer.stop()
            if rt.capture.sinks is not None:
                await asyncio.to_thread(rt.capture.sinks.stop)
            call_hook(pm, "eventkit_shutdown", settings=settings)
            rt.engine.dispose()
            log.info("shutdown complete")

    # Every route, the core ones included, comes from the built-in plugins
    # (eventkit/builtins/) and then from installed plugins.
    routes: list[Any] = list(iter_results(pm, "eventkit_routes", settings=settings))
    app = Litestar(
        route_handlers=routes,
        dependencies={"runtime": RUNTIME},
        lifespan=[lifespan],
        exception_handlers=exception_handlers,  # type: ignore[arg-type]
        middleware=[_metrics_middleware],
        openapi_config=OpenAPIConfig(
            title="eventkit",
            version=__version__,
            path="/schema",
            description="Self-hosted product analytics for mobile apps. See docs/mobile_api.md.",
            render_plugins=[ScalarRenderPlugin()],
        ),
        request_max_body_size=settings.server.max_request_bytes,
        cors_config=_cors(settings.cors),
        logging_config=None,
        debug=False,
    )
    app.state.runtime = rt
    app.state.key_cache = KeyCache(rt.engine)
    app.state.limiter = Limiter(settings.rate_limits)
    app.state.settings = settings
    return app


def create_app_from_env() -> ASGIApp:
    """Factory for ASGI servers: settings from ``$EVENTKIT_CONFIG`` and the environment.

    ``POST /v1/events`` is answered in front of Litestar (``eventkit.api.fastpath``).
    """
    serve_pid = int(os.environ.get(SERVE_PID_ENV) or 0)
    if serve_pid and serve_pid != os.getpid():
        # An HTTP worker of `eventkit serve` (the factory runs right after the fork or
        # spawn): it ends with the main process, and leaves SIGHUP (a closed terminal)
        # to it, which stops the workers in order.
        end_with_parent(serve_pid)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    settings = load_settings()
    configure_logging(settings.log)
    # Every thread that gives up the GIL for I/O (the writer thread with
    # ingest.writer = "thread", thread-mode jobs, granian handing requests to Python)
    # must win it back from a busy event loop; with CPython's 5 ms default each
    # hand-back can cost 5 ms (docs/performance.md). Both writer modes were measured
    # with 0.2 ms.
    sys.setswitchinterval(settings.server.gil_switch_interval_us / 1_000_000)
    return with_capture_fast_path(create_app(settings))
