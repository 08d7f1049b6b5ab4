"""Job leases: one holder per job at a time, released when the holder goes away."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.plugins.specs import JobSpec
from eventkit.scheduler import build_scheduler
from eventkit.storage.leases import JobLeases, PostgresLeases, make_leases


def eventually_holds(leases: JobLeases, job: str, timeout: float = 10) -> bool:
    """The server releases a closed session's locks a moment after the disconnect."""
    deadline = time.monotonic() + timeout
    while not leases.hold(job):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_one_holder_per_job_and_failover_when_it_closes(settings: Settings) -> None:
    a, b = make_leases(settings), make_leases(settings)
    try:
        assert a.hold("rollups")
        assert a.hold("rollups")  # confirmed, still ours
        assert not b.hold("rollups")
        assert b.hold("sessions")  # leases are per job
        assert not a.hold("sessions")
        a.close()  # the leader dies
        assert eventually_holds(b, "rollups")
        assert not a.hold("unheld")  # closed for good: a late run never reconnects
    finally:
        a.close()
        b.close()


def test_a_leader_whose_connection_is_killed_loses_its_lease(
    settings: Settings, engine: Engine
) -> None:
    if engine.dialect.name != "postgresql":
        return  # SQLite file locks die only with their process
    a, b = make_leases(settings), make_leases(settings)
    assert isinstance(a, PostgresLeases)
    try:
        assert a.hold("rollups")
        with engine.connect() as conn:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'eventkit-leases' AND pid <> pg_backend_pid()"
                )
            )
        assert eventually_holds(b, "rollups")
        assert not a.hold("rollups")
    finally:
        a.close()
        b.close()


async def test_the_scheduler_skips_runs_whose_lease_is_elsewhere(settings: Settings) -> None:
    other = make_leases(settings)
    mine = make_leases(settings)
    runs: list[str] = []
    jobs = [
        JobSpec(id="held-elsewhere", func=lambda: runs.append("elsewhere"), seconds=0.05),
        JobSpec(id="free", func=lambda: runs.append("free"), seconds=0.05),
    ]
    assert other.hold("held-elsewhere")
    scheduler = build_scheduler(settings, jobs, leases=mine)
    scheduler.start()
    try:
        for _ in range(100):
            if "free" in runs:
                break
            await asyncio.sleep(0.05)
    finally:
        scheduler.shutdown(wait=False)
        mine.close()
        other.close()
    assert "free" in runs
    assert "elsewhere" not in runs
