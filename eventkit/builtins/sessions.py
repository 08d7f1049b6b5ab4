"""Sessions: the sessions job (in a child process), ``/v1/sessions*`` and
``eventkit sessions``."""

from __future__ import annotations

from typing import Any

from eventkit.config import Settings
from eventkit.plugins.hookspecs import hookimpl
from eventkit.plugins.specs import JobSpec
from eventkit.sessions.worker import JobRunner

__all__ = [
    "eventkit_cli_commands",
    "eventkit_routes",
    "eventkit_scheduled_jobs",
    "eventkit_shutdown",
]

_runners: list[JobRunner] = []


@hookimpl
def eventkit_scheduled_jobs(settings: Settings) -> list[JobSpec]:
    """The sessions job: sessionize new events and close idle sessions."""
    if not settings.sessions.enabled:
        return []
    runner = JobRunner(settings)
    _runners.append(runner)
    return [
        JobSpec(
            id="sessions",
            func=runner,
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
    """Stop the job's child process and release its connections."""
    while _runners:
        _runners.pop().close()
