"""The built-in reports plugin: the rollup job, the read routes and the CLI groups.

Interface modules are imported inside the hooks, so ``eventkit.reports`` itself never
imports litestar or typer.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from eventkit.config import Settings
from eventkit.plugins.hookspecs import hookimpl
from eventkit.scheduler import JobSpec

__all__ = ["eventkit_cli_commands", "eventkit_routes", "eventkit_scheduled_jobs"]

log = logging.getLogger("eventkit.aggregation")


def rollup_job(settings: Settings) -> JobSpec:
    """The scheduled rollup run. Each run opens and disposes its own engine: once a
    minute that costs nothing, and no connection outlives the run."""
    lock = threading.Lock()

    def run() -> None:
        from eventkit.aggregation import aggregate
        from eventkit.storage.engine import make_engine

        with lock:
            engine = make_engine(settings)
            try:
                result = aggregate(engine, settings.aggregation)
            finally:
                engine.dispose()
        if result.events:
            log.info("rollups: folded %d events, watermark %d", result.events, result.watermark)

    return JobSpec(
        id="aggregation.rollups",
        func=run,
        seconds=settings.aggregation.interval_seconds,
        description="Fold new events into the report rollups",
    )


@hookimpl
def eventkit_scheduled_jobs(settings: Settings) -> list[JobSpec]:
    """The rollup job, unless ``aggregation.enabled`` is false."""
    return [rollup_job(settings)] if settings.aggregation.enabled else []


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
