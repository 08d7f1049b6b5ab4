"""Ask anything (docs/sql.md, docs/reports.md): scoped API tokens, SQL, cohorts and the
Parquet mirror. Routes: ``POST /v1/query``. Commands: ``tokens``, ``sql``, ``mirror``,
``cohorts`` (``report paths`` joins the ``report`` group in ``eventkit.cli.report``).
Jobs: the cohort refresh and the mirror refresh. Erasure removes the user from every
cohort.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.engine import Connection, Engine

from eventkit.builtins.jobs import engine_job
from eventkit.cohorts import refresh_all
from eventkit.cohorts.store import erase_actors
from eventkit.config import Settings
from eventkit.plugins.hookspecs import hookimpl
from eventkit.plugins.specs import JobSpec

__all__ = [
    "eventkit_cli_commands",
    "eventkit_erase_user",
    "eventkit_routes",
    "eventkit_scheduled_jobs",
]

log = logging.getLogger("eventkit.query")


@hookimpl
def eventkit_scheduled_jobs(settings: Settings) -> list[JobSpec]:
    """The cohort refresh (``cohorts.enabled``) and the mirror refresh
    (``sql.mirror_enabled``)."""
    jobs = []
    if settings.cohorts.enabled:

        def cohorts(engine: Engine) -> None:
            for r in refresh_all(engine, settings):
                if r.added or r.removed:
                    log.info("cohort %s: +%d -%d (%s), %d members", r.name, r.added,
                             r.removed, r.mode, r.members)  # fmt: skip

        jobs.append(
            engine_job(
                settings,
                cohorts,
                id="cohorts.refresh",
                seconds=settings.cohorts.refresh_interval_seconds,
                description="Refresh every cohort's members",
            )
        )
    if settings.sql.mirror_enabled:

        def mirror(engine: Engine) -> None:
            from eventkit.sql.mirror import refresh

            result = refresh(engine, settings)
            if result.events_added or result.apps_rebuilt:
                log.info("mirror: +%d events, %d apps rebuilt in %.1fs", result.events_added,
                         result.apps_rebuilt, result.seconds)  # fmt: skip

        jobs.append(
            engine_job(
                settings,
                mirror,
                id="sql.mirror",
                seconds=settings.sql.mirror_interval_seconds,
                description="Append new events to the Parquet mirror (DuckDB)",
            )
        )
    return jobs


@hookimpl
def eventkit_routes(settings: Settings) -> list[Any]:
    """``POST /v1/query``."""
    from eventkit.api.query import run_query

    return [run_query]


@hookimpl
def eventkit_cli_commands(app: Any) -> None:
    """``eventkit tokens|sql|mirror|cohorts``."""
    from eventkit.cli import cohorts, mirror, sql, tokens

    app.add_typer(tokens.app, name="tokens")
    app.command("sql")(sql.sql)
    app.add_typer(mirror.app, name="mirror")
    app.add_typer(cohorts.app, name="cohorts")


@hookimpl
def eventkit_erase_user(
    conn: Connection, app_id: int, user_id: str, anonymous_ids: list[str]
) -> dict[str, int]:
    """Remove the erased user and their devices from every cohort of the app."""
    return {"cohort_members": erase_actors(conn, app_id, [user_id, *anonymous_ids])}
