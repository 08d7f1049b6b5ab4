"""``eventkit worker``: the scheduled jobs without the API."""

from __future__ import annotations

import asyncio
import logging
import signal

import typer

from eventkit.cli.context import state
from eventkit.cli.output import console
from eventkit.config import Settings
from eventkit.logs import configure_logging
from eventkit.plugins.manager import get_plugin_manager
from eventkit.scheduler import build_scheduler, collect_jobs
from eventkit.storage.leases import make_leases

__all__ = ["worker"]

log = logging.getLogger("eventkit.worker")


async def run_worker(settings: Settings, stop: asyncio.Event | None = None) -> None:
    """Run every scheduled job (where this process holds its lease) until ``stop`` is
    set or SIGTERM/SIGINT arrives."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    pm = get_plugin_manager()
    leases = make_leases(settings)
    jobs = collect_jobs(settings)
    scheduler = build_scheduler(settings, jobs, leases=leases)
    scheduler.start()
    pm.hook.eventkit_startup(settings=settings)
    log.info("worker running %d jobs: %s", len(jobs), ", ".join(j.id for j in jobs))
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        leases.close()
        pm.hook.eventkit_shutdown(settings=settings)
        log.info("worker stopped")


def worker(ctx: typer.Context) -> None:
    """Run the scheduled jobs (rollups, sessions, partitions, ...) without the API.

    On PostgreSQL any number of workers and servers may run: each job runs on exactly
    one of them at a time (advisory locks), and another takes over when it dies.
    """
    st = state(ctx)
    settings = st.settings
    configure_logging(settings.log)
    st.engine()  # refuse a database whose schema is not up to date
    console.print(
        f"[bold]eventkit worker[/bold] on database {settings.database_url.split('@')[-1]}"
    )
    asyncio.run(run_worker(settings))
