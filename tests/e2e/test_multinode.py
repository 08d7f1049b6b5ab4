"""Several nodes on one PostgreSQL: two `eventkit serve` processes and an `eventkit
worker`. Load goes through both servers; the job leader is killed; the jobs continue on
another node, and the rollups equal the raw event count exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import fresh_database, make_settings
from tests.e2e.conftest import ServerProcess, launch
from tests.e2e.faults import Load, stored_counts

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]

JOB = "aggregation.rollups"
FAST_JOBS = {
    "EVENTKIT_AGGREGATION__INTERVAL_SECONDS": "0.5",
    "EVENTKIT_AGGREGATION__SETTLE_SECONDS": "1",
    "EVENTKIT_SESSIONS__JOB_INTERVAL_SECONDS": "1",
    "EVENTKIT_SESSIONS__SUBPROCESS": "false",
    "EVENTKIT_LOG__LEVEL": "info",
}


@pytest.fixture
def pg_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database("postgres", tmp_path) as url:
        yield url


class Worker:
    """A running `eventkit worker`."""

    def __init__(self, database_url: str, log_dir: Path) -> None:
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log = log_dir / "stderr.txt"
        env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTKIT_")}
        env.update({"EVENTKIT_DATABASE_URL": database_url, "EVENTKIT_LOAD_PLUGINS": "0"})
        env.update(FAST_JOBS)
        with (log_dir / "stdout.txt").open("w") as out, self.log.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "eventkit", "worker"],
                cwd=log_dir,
                env=env,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    def stderr(self) -> str:
        return self.log.read_text()


def leads(stderr: str) -> bool:
    return f"now runs the job {JOB}" in stderr


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def rollup_total(url: str) -> int:
    from eventkit.storage.engine import make_engine

    engine = make_engine(make_settings(url))
    try:
        with engine.connect() as conn:
            n = conn.execute(
                text(
                    "SELECT COALESCE(SUM(count), 0) FROM rollup_counts "
                    "WHERE period = 'd' AND dim = ''"
                )
            ).scalar_one()
        return int(n)
    finally:
        engine.dispose()


def test_two_servers_and_a_worker_share_jobs_with_failover(pg_url: str, tmp_path: Path) -> None:
    a = launch(pg_url, tmp_path / "a", FAST_JOBS)
    worker = Worker(pg_url, tmp_path / "worker")
    b = launch(pg_url, tmp_path / "b", FAST_JOBS)
    assert a.write_key
    nodes: dict[str, ServerProcess | Worker] = {"a": a, "b": b, "worker": worker}

    def logs() -> dict[str, str]:
        return {
            name: n.stderr() if isinstance(n, Worker) else n.stderr for name, n in nodes.items()
        }

    load = Load([a.url, b.url], a.write_key).start()
    try:
        load.wait_acked(1000)
        wait_for(lambda: any(leads(s) for s in logs().values()), 30, "a job leader")
        leaders = [name for name, s in logs().items() if leads(s)]
        assert len(leaders) == 1, leaders  # exactly one node runs the job
        leader = leaders[0]
        killed = nodes.pop(leader)
        os.killpg(killed.process.pid, signal.SIGKILL)
        killed.process.wait(10)
        if leader != "worker":  # its half of the load now fails: not acknowledged
            load.urls = [n.url for n in nodes.values() if isinstance(n, ServerProcess)]
        wait_for(lambda: any(leads(s) for s in logs().values()), 30, "failover")
        load.wait_acked(1000)
    finally:
        load.stop()
    try:
        from eventkit.storage.engine import make_engine

        engine = make_engine(make_settings(pg_url))
        counts = stored_counts(engine)
        engine.dispose()
        raw = sum(counts.values())
        wait_for(lambda: rollup_total(pg_url) >= raw, 60, "the rollups to catch up")
        total = rollup_total(pg_url)
        new_leaders = [name for name, s in logs().items() if leads(s)]
        print(
            f"multi-node: {len(set(load.acked))} acknowledged, {raw} stored, rollups {total}, "
            f"leader {leader} killed, then {new_leaders}"
        )
        assert set(load.acked) <= set(counts)
        assert max(counts.values()) == 1
        assert total == raw
        assert len(new_leaders) == 1
    finally:
        for n in nodes.values():
            if isinstance(n, ServerProcess):
                n.terminate()
            else:
                n.process.send_signal(signal.SIGTERM)
                n.process.wait(15)
