"""Reports: the rollup job, ``GET /v1/reports/{name}``, ``eventkit report``,
``aggregate``, ``users``, ``demo`` and ``simulate``."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.engine import Engine

from eventkit.aggregation import aggregate
from eventkit.builtins.jobs import engine_job
from eventkit.config import Settings
from eventkit.plugins.hookspecs import hookimpl
from eventkit.plugins.specs import JobSpec

__all__ = ["eventkit_cli_commands", "eventkit_routes", "eventkit_scheduled_jobs"]

log = logging.getLogger("eventkit.aggregation")


@hookimpl
def eventkit_scheduled_jobs(settings: Settings) -> list[JobSpec]:
    """The rollup job, unless ``aggregation.enabled`` is false."""
    if not settings.aggregation.enabled:
        return []

    def fold(engine: Engine) -> None:
        result = aggregate(engine, settings.aggregation)
        if result.events:
            log.info("rollups: folded %d events, watermark %d", result.events, result.watermark)

    return [
        engine_job(
            settings,
            fold,
            id="aggregation.rollups",
            seconds=settings.aggregation.interval_seconds,
            description="Fold new events into the report rollups",
        )
    ]


@hookimpl
def eventkit_routes(settings: Settings) -> list[Any]:
    """``GET /v1/reports/{name}``."""
    from eventkit.api.reports import get_report

    return [get_report]


@hookimpl
def eventkit_cli_commands(app: Any) -> None:
    """``eventkit report|aggregate|users`` groups and ``demo``/``simulate``."""
    from eventkit.cli import aggregate, demo, report, users

    app.add_typer(report.app, name="report")
    app.add_typer(aggregate.app, name="aggregate")
    app.add_typer(users.app, name="users")
    app.command("demo")(demo.demo)
    app.command("simulate")(demo.simulate_cmd)
