"""`eventkit worker`: the scheduled jobs without the API, under the job leases."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy.engine import Engine

from eventkit.aggregation.rollups import watermark
from eventkit.cli.worker import run_worker
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore, last_event_id
from eventkit.storage.leases import make_leases
from tests.conftest import make_settings
from tests.factories import make_event


async def test_worker_runs_the_jobs_and_stops(database_url: str, engine: Engine) -> None:
    settings = make_settings(
        database_url,
        AGGREGATION__INTERVAL_SECONDS="0.2",
        AGGREGATION__SETTLE_SECONDS="0",
        SESSIONS__ENABLED="false",
    )
    app = create_app(engine, "a")
    EventStore(engine).write([make_event(app.app_id) for _ in range(5)])
    stop = asyncio.Event()
    task = asyncio.create_task(run_worker(settings, stop))
    deadline = time.monotonic() + 30
    while watermark(engine) < last_event_id(engine):
        assert time.monotonic() < deadline, "the rollup job did not run"
        await asyncio.sleep(0.1)
    # It holds the lease while it runs: nobody else may take the job.
    other = make_leases(settings)
    try:
        assert not other.hold("aggregation.rollups")
        stop.set()
        await asyncio.wait_for(task, 30)
        deadline = time.monotonic() + 10
        while not other.hold("aggregation.rollups"):  # released on stop
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        other.close()
