"""APScheduler wiring. Job bodies live in their domain packages; this module only
collects ``JobSpec``s from the plugin hook and schedules them.

Every node schedules every job, but a run only proceeds on the process that holds the
job's lease (``eventkit.storage.leases``: a PostgreSQL advisory lock, or a file lock on
SQLite), so each job runs on exactly one process at a time, with failover.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from eventkit.config import Settings
from eventkit.plugins.manager import get_plugin_manager, iter_results
from eventkit.plugins.specs import JobSpec
from eventkit.storage.leases import JobLeases

__all__ = ["JobSpec", "build_scheduler", "collect_jobs"]

log = logging.getLogger("eventkit.scheduler")


def collect_jobs(settings: Settings) -> list[JobSpec]:
    """Every job the loaded plugins (built-ins included) contribute."""
    return list(iter_results(get_plugin_manager(), "eventkit_scheduled_jobs", settings=settings))


def _wrap(job: JobSpec, leases: JobLeases | None) -> Callable[[], Any]:
    async def run() -> None:
        try:
            if leases is not None and not await asyncio.to_thread(leases.hold, job.id):
                return  # another process leads this job
            await asyncio.to_thread(job.func)
        except Exception:
            log.exception("scheduled job %s failed; it will run again on schedule", job.id)

    return run


def build_scheduler(
    settings: Settings, jobs: list[JobSpec] | None = None, leases: JobLeases | None = None
) -> AsyncIOScheduler:
    """An asyncio scheduler with every job added (not started). With ``leases``, a run
    proceeds only where the job's lease is held."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in collect_jobs(settings) if jobs is None else jobs:
        scheduler.add_job(
            _wrap(job, leases),
            "interval",
            seconds=job.seconds,
            id=job.id,
            name=job.description or job.id,
            max_instances=1,
            coalesce=True,
        )
    return scheduler
