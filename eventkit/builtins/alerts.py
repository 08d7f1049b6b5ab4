"""Alerts, digests and release health: the ``releases.rollup`` and ``alerts.evaluate``
jobs, ``/v1/alerts…`` and ``/v1/annotations``, ``eventkit alerts|digest|annotate|
annotations`` and ``eventkit report releases``, and the erasure of a user's
release-health rows."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.engine import Connection, Engine

from eventkit.alerts.jobs import run_alerts_job
from eventkit.builtins.jobs import engine_job
from eventkit.config import Settings
from eventkit.plugins.hookspecs import hookimpl
from eventkit.plugins.specs import JobSpec
from eventkit.releases.rollup import erase_actors, run_releases

__all__ = [
    "eventkit_cli_commands",
    "eventkit_erase_user",
    "eventkit_routes",
    "eventkit_scheduled_jobs",
]

log = logging.getLogger("eventkit.alerts")


@hookimpl
def eventkit_scheduled_jobs(settings: Settings) -> list[JobSpec]:
    """The release-health job and the alerts job (each off with its ``enabled``)."""
    jobs = []
    if settings.releases.enabled:

        def fold(engine: Engine) -> None:
            run = run_releases(engine, settings.releases)
            if run.events:
                log.info("release health: folded %d events", run.events)

        jobs.append(
            engine_job(
                settings,
                fold,
                id="releases.rollup",
                seconds=settings.releases.interval_seconds,
                description="Fold new events into release health; annotate new versions",
            )
        )
    if settings.alerts.enabled:
        jobs.append(
            engine_job(
                settings,
                lambda engine: run_alerts_job(engine, settings),
                id="alerts.evaluate",
                seconds=settings.alerts.interval_seconds,
                description="Evaluate alert rules, send digests and the message outbox",
            )
        )
    return jobs


@hookimpl
def eventkit_routes(settings: Settings) -> list[Any]:
    """``/v1/alerts…`` and ``/v1/annotations``."""
    from eventkit.api.alerts import ROUTES

    return list(ROUTES)


@hookimpl
def eventkit_cli_commands(app: Any) -> None:
    """``eventkit alerts``, ``digest``, ``annotate``, ``annotations`` and ``report
    releases``."""
    from eventkit.cli import alerts, digest, releases
    from eventkit.cli.report import app as report_app

    app.add_typer(alerts.app, name="alerts")
    app.add_typer(digest.app, name="digest")
    app.command("annotate")(releases.annotate)
    app.add_typer(releases.annotations_app, name="annotations")
    report_app.command("releases")(releases.releases_cmd)


@hookimpl
def eventkit_erase_user(
    conn: Connection, app_id: int, user_id: str, anonymous_ids: list[str]
) -> dict[str, int]:
    """Remove the user's rows from the release-health tables (``users delete``)."""
    return erase_actors(conn, app_id, user_id, anonymous_ids)
