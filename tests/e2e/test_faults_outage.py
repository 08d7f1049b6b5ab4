"""Database outage and a full spool, with real servers under load.

PostgreSQL becomes unreachable through a TCP proxy the test cuts (SQLite: another
connection holds the write lock). The outage lasts ``FAULT_OUTAGE_SECONDS`` (8 s by
default so CI stays quick; ``make fuzz`` runs the full 30 s).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import launch
from tests.e2e.faults import FaultyDatabase, Load, stored_counts, wait_replayed

pytestmark = pytest.mark.e2e

OUTAGE = float(os.environ.get("FAULT_OUTAGE_SECONDS", "8"))


@pytest.fixture
def faulty(database_url: str) -> Iterator[FaultyDatabase]:
    db = FaultyDatabase(database_url)
    yield db
    db.close()


def check_exactly_once(faulty: FaultyDatabase, load: Load, label: str) -> None:
    from eventkit.storage.engine import make_engine
    from tests.conftest import make_settings

    engine = make_engine(make_settings(faulty.database_url))
    try:
        counts = stored_counts(engine)
    finally:
        engine.dispose()
    acked = set(load.acked)
    lost = [i for i in acked if counts[i] == 0]
    duplicated = [i for i, n in counts.items() if n > 1]
    print(
        f"{label}: {len(acked)} acknowledged, {len(lost)} lost, {len(duplicated)} duplicated, "
        f"answers {dict(load.statuses)}"
    )
    assert lost == []
    assert duplicated == []


def test_database_outage_loses_nothing_and_answers_no_5xx(
    faulty: FaultyDatabase, tmp_path: Path
) -> None:
    env = {**faulty.env, "EVENTKIT_SPOOL__DIRECTORY": str(tmp_path / "spool")}
    srv = launch(faulty.server_url, tmp_path / "server", env)
    assert srv.write_key
    load = Load([srv.url], srv.write_key).start()
    try:
        load.wait_acked(200)
        faulty.down()
        before = len(load.acked)
        time.sleep(OUTAGE)
        assert len(load.acked) > before, "capture stopped during the outage"
        faulty.up()
        load.wait_acked(200)
    finally:
        load.stop()
        faulty.up()
    try:
        wait_replayed(srv.url)
    finally:
        srv.terminate()
    check_exactly_once(faulty, load, f"outage {OUTAGE:g} s")
    assert not any(s.startswith("5") for s in load.statuses), load.statuses
    assert load.statuses["error"] == 0


def test_full_spool_answers_503_with_retry_after_and_loses_nothing(
    faulty: FaultyDatabase, tmp_path: Path
) -> None:
    env = {
        **faulty.env,
        "EVENTKIT_SPOOL__DIRECTORY": str(tmp_path / "spool"),
        "EVENTKIT_SPOOL__MAX_BYTES": "60000",  # about 15 batches of 10 events
        "EVENTKIT_SPOOL__SEGMENT_BYTES": "8000",
    }
    srv = launch(faulty.server_url, tmp_path / "server", env)
    assert srv.write_key
    load = Load([srv.url], srv.write_key).start()
    try:
        load.wait_acked(100)
        faulty.down()
        deadline = time.monotonic() + 60
        while load.statuses["503"] < 20:  # the spool filled up
            assert time.monotonic() < deadline, load.statuses
            time.sleep(0.05)
        faulty.up()
        load.wait_acked(200)
    finally:
        load.stop()
        faulty.up()
    try:
        wait_replayed(srv.url)
    finally:
        srv.terminate()
    check_exactly_once(faulty, load, "spool full")
    assert {s for s in load.statuses if s.startswith("5")} == {"503"}
    assert load.missing_retry_after == 0
