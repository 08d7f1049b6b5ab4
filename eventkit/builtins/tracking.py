"""Tracking plans: the violation-count flush job, ``/v1/tracking-plan*`` and
``eventkit schema``. The ingest stage is listed in ``eventkit.ingest.pipeline.STAGES``."""

from __future__ import annotations

from typing import Any

from eventkit.config import Settings
from eventkit.plugins.hookspecs import hookimpl
from eventkit.plugins.specs import JobSpec
from eventkit.tracking.stage import flush_all

__all__ = [
    "eventkit_cli_commands",
    "eventkit_routes",
    "eventkit_scheduled_jobs",
    "eventkit_shutdown",
]


@hookimpl
def eventkit_scheduled_jobs(settings: Settings) -> list[JobSpec]:
    """Write this process's violation counts even when no batch arrives to do it."""
    return [
        JobSpec(
            id="tracking.violations",
            func=flush_all,
            seconds=max(settings.tracking.flush_seconds, 1.0),
            description="Write counted tracking plan violations",
        )
    ]


@hookimpl
def eventkit_routes(settings: Settings) -> list[Any]:
    """``GET|PUT /v1/tracking-plan`` and ``GET /v1/tracking-plan/violations``."""
    from eventkit.api import tracking

    return list(tracking.ROUTES)


@hookimpl
def eventkit_cli_commands(app: Any) -> None:
    """The ``eventkit schema`` group."""
    from eventkit.cli import schema

    app.add_typer(schema.app, name="schema")


@hookimpl
def eventkit_shutdown(settings: Settings) -> None:
    """Write the violation counts still in memory."""
    flush_all()
