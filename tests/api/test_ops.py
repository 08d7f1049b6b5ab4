"""/readyz of a worker whose main process has ended, and the writer-unreachable error:
neither promises a restart that cannot happen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from eventkit import lifetime
from eventkit.config import Settings
from eventkit.errors import DatabaseUnavailableError
from eventkit.ingest.committers import RemoteCommitter
from tests.inprocess import api_client


@pytest.fixture
def orphaned() -> Iterator[None]:
    """This process behaves as a worker whose main process has ended."""
    lifetime._orphaned.set()
    yield
    lifetime._orphaned.clear()


async def test_readyz_is_ok_while_the_main_process_lives(
    settings: Settings, engine: Engine
) -> None:
    async with api_client(settings) as client:
        r = await client.get("/readyz")
    assert r.status_code == 200, r.text
    assert "main_process" not in r.json()["checks"]


async def test_readyz_of_an_orphaned_worker_is_unavailable(
    settings: Settings, engine: Engine, orphaned: None
) -> None:
    async with api_client(settings) as client:
        r = await client.get("/readyz")
    assert r.status_code == 503, r.text
    body = r.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["main_process"] == "ended: this worker is draining and stopping"


async def test_an_unreachable_writer_process_is_restarted_only_by_a_live_main_process(
    tmp_path: Path,
) -> None:
    committer = RemoteCommitter(str(tmp_path / "missing.sock"))
    with pytest.raises(DatabaseUnavailableError, match="the main process restarts it"):
        await committer.commit([], [])
    lifetime._orphaned.set()
    try:
        with pytest.raises(DatabaseUnavailableError, match="nothing restarts it"):
            await committer.commit([], [])
    finally:
        lifetime._orphaned.clear()
