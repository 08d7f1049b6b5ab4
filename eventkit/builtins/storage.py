"""Storage upkeep: the ``partitions`` job that keeps monthly ``events`` partitions
created ahead of time (PostgreSQL only)."""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.plugins.hookspecs import hookimpl
from eventkit.plugins.specs import JobSpec
from eventkit.storage.engine import make_engine
from eventkit.storage.partitions import ensure_partitions

__all__ = ["eventkit_scheduled_jobs", "eventkit_shutdown"]

log = logging.getLogger("eventkit.partitions")
_engines: list[Engine] = []


class _PartitionJob:
    """Keeps one engine for its runs (released at shutdown)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine: Engine | None = None

    def __call__(self) -> None:
        if self.engine is None:
            self.engine = make_engine(self.settings)
            _engines.append(self.engine)
        created = ensure_partitions(self.engine, self.settings.partitions.months_ahead)
        if created:
            log.info("created events partitions %s", ", ".join(created))


@hookimpl
def eventkit_scheduled_jobs(settings: Settings) -> list[JobSpec]:
    """The ``partitions`` job (PostgreSQL): create monthly partitions ahead of time."""
    if settings.database_url.startswith("sqlite"):
        return []
    return [
        JobSpec(
            id="partitions",
            func=_PartitionJob(settings),
            seconds=settings.partitions.job_interval_seconds,
            description="create monthly events partitions ahead of time",
        )
    ]


@hookimpl
def eventkit_shutdown(settings: Settings) -> None:
    """Release the job's connections."""
    while _engines:
        _engines.pop().dispose()
