"""Crash: SIGKILL a real server mid-load, while some acknowledged events exist only in
its spool; restart it; every acknowledged event is stored exactly once."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import launch
from tests.e2e.faults import FaultyDatabase, Load, stored_counts, wait_replayed

pytestmark = pytest.mark.e2e


@pytest.fixture
def faulty(database_url: str) -> Iterator[FaultyDatabase]:
    db = FaultyDatabase(database_url)
    yield db
    db.close()


def spooled_events(url: str) -> int:
    return int(httpx.get(f"{url}/readyz", timeout=10).json()["checks"]["spool"]["events"])


def test_sigkill_mid_load_loses_no_acknowledged_event(
    faulty: FaultyDatabase, tmp_path: Path
) -> None:
    env = {**faulty.env, "EVENTKIT_SPOOL__DIRECTORY": str(tmp_path / "spool")}
    srv = launch(faulty.server_url, tmp_path / "first", env)
    assert srv.write_key
    load = Load([srv.url], srv.write_key).start()
    try:
        load.wait_acked(300)  # committed to the database
        faulty.down()
        load.wait_acked(300)  # acknowledged from the spool only
        assert spooled_events(srv.url) > 0
        os.killpg(srv.process.pid, signal.SIGKILL)  # mid-load, spool not replayed
        srv.process.wait(10)
    finally:
        load.stop()
        faulty.up()
    again = launch(faulty.server_url, tmp_path / "second", env)
    try:
        wait_replayed(again.url)
    finally:
        again.terminate()
    engine = srv.engine()
    try:
        counts = stored_counts(engine)
    finally:
        engine.dispose()
    acked = set(load.acked)
    lost = [i for i in acked if counts[i] == 0]
    duplicated = [i for i, n in counts.items() if n > 1]
    print(f"crash test: {len(acked)} acknowledged, {len(lost)} lost, {len(duplicated)} dup")
    assert len(acked) >= 600
    assert lost == []
    assert duplicated == []
    assert not list((tmp_path / "spool").glob("*.spool"))
