"""The sessions feature, registered through eventkit's plugin hooks.

The interface modules (``eventkit.api.sessions``, ``eventkit.cli.sessions``) are
imported inside the hooks, so importing this domain package never pulls in litestar
or typer.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from eventkit.config import Settings
from eventkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from eventkit.scheduler import JobSpec

__all__ = [
    "eventkit_cli_commands",
    "eventkit_routes",
    "eventkit_scheduled_jobs",
    "eventkit_shutdown",
]

_lock = threading.Lock()
_engines: dict[str, Engine] = {}


def _engine(settings: Settings) -> Engine:
    """One engine per database for the job (created on the first run)."""
    from eventkit.storage.engine import make_engine

    with _lock:
        if settings.database_url not in _engines:
            _engines[settings.database_url] = make_engine(settings)
        return _engines[settings.database_url]


@hookimpl
def eventkit_scheduled_jobs(settings: Settings) -> list[JobSpec]:
    """The sessions job: sessionize new events and close idle sessions."""
    from eventkit.scheduler import JobSpec
    from eventkit.sessions.job import run_sessions_job

    if not settings.sessions.enabled:
        return []

    def run() -> None:
        run_sessions_job(_engine(settings), settings)

    return [
        JobSpec(
            id="sessions",
            func=run,
            seconds=settings.sessions.job_interval_seconds,
            description="sessionize new events, close idle sessions",
        )
    ]


@hookimpl
def eventkit_routes(settings: Settings) -> list[Any]:
    """``GET /v1/sessions``, ``/v1/sessions/stats`` and ``/v1/sessions/{id}``."""
    from eventkit.api import sessions

    return list(sessions.ROUTES)


@hookimpl
def eventkit_cli_commands(app: Any) -> None:
    """The ``eventkit sessions`` command group."""
    from eventkit.cli import sessions

    app.add_typer(sessions.app, name="sessions")


@hookimpl
def eventkit_shutdown(settings: Settings) -> None:
    """Release the job's engine."""
    with _lock:
        engine = _engines.pop(settings.database_url, None)
    if engine is not None:
        engine.dispose()
