"""The group-commit writer: batching, durability before ack, failures, drain."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.config import IngestSettings
from eventkit.errors import OverloadedError, StorageError
from eventkit.ingest.writer import GroupCommitWriter
from eventkit.metrics import Metrics
from eventkit.storage.apps import create_app
from eventkit.storage.engine import sqlite_path
from eventkit.storage.events import EventStore, count_events
from tests.factories import make_event


def writer_for(engine: Engine, **settings: int | float) -> GroupCommitWriter:
    return GroupCommitWriter(EventStore(engine), IngestSettings(**settings), Metrics())


def sample_count(metrics: Metrics, name: str) -> float:
    value = metrics.registry.get_sample_value(name)
    assert value is not None
    return value


async def test_concurrent_requests_share_commits(engine: Engine) -> None:
    app = create_app(engine, "a")
    w = writer_for(engine)
    w.start()
    batches = [[make_event(app.app_id) for _ in range(3)] for _ in range(60)]
    results = await asyncio.gather(*(w.submit(b) for b in batches))
    await w.stop()
    assert all(r == [True, True, True] for r in results)
    assert count_events(engine) == 180
    commits = sample_count(w.metrics, "eventkit_commit_events_count")
    assert 1 <= commits < 60  # group commit: fewer transactions than requests
    assert sample_count(w.metrics, "eventkit_commit_events_sum") == 180


async def test_result_is_known_only_after_commit(engine: Engine) -> None:
    app = create_app(engine, "a")
    w = writer_for(engine)
    w.start()
    e = make_event(app.app_id)
    assert await w.submit([e]) == [True]
    # Acknowledged means visible to any other connection right away.
    assert count_events(engine) == 1
    assert await w.submit([e]) == [False]
    await w.stop()


async def test_failed_commit_reaches_every_waiting_request(engine: Engine) -> None:
    app = create_app(engine, "a")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE events"))
    w = writer_for(engine)
    w.start()
    tasks = [asyncio.ensure_future(w.submit([make_event(app.app_id)])) for _ in range(5)]
    done = await asyncio.gather(*tasks, return_exceptions=True)
    await w.stop()
    assert all(isinstance(d, StorageError) for d in done)
    assert sample_count(w.metrics, "eventkit_commit_failures_total") >= 1


async def test_stop_drains_queued_work_then_refuses(engine: Engine) -> None:
    app = create_app(engine, "a")
    w = writer_for(engine, flush_max_events=5)
    w.start()
    tasks = [
        asyncio.ensure_future(w.submit([make_event(app.app_id) for _ in range(4)]))
        for _ in range(25)
    ]
    await asyncio.sleep(0)  # every request is queued before shutdown begins
    await w.stop()
    results = await asyncio.gather(*tasks)
    assert sum(map(sum, results)) == 100
    assert count_events(engine) == 100
    with pytest.raises(OverloadedError, match="shutting down"):
        await w.submit([make_event(app.app_id)])


async def test_full_queue_answers_overloaded(engine: Engine) -> None:
    app = create_app(engine, "a")
    w = writer_for(engine, queue_max_events=10)
    w.start()
    first = asyncio.ensure_future(w.submit([make_event(app.app_id) for _ in range(8)]))  # noqa: RUF006
    await asyncio.sleep(0)
    assert sample_count(w.metrics, "eventkit_writer_queue_events") == 8  # read at scrape
    with pytest.raises(OverloadedError) as info:
        await w.submit([make_event(app.app_id) for _ in range(5)])
    assert info.value.retry_after >= 1
    assert await first == [True] * 8
    await w.stop()


async def test_last_error_tracks_the_latest_commit(engine: Engine) -> None:
    app = create_app(engine, "a")
    w = writer_for(engine)
    w.start()
    assert w.last_error is None
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE events RENAME TO events_away"))
    with pytest.raises(StorageError):
        await w.submit([make_event(app.app_id)])
    assert w.last_error
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE events_away RENAME TO events"))
    assert await w.submit([make_event(app.app_id)]) == [True]
    assert w.last_error is None
    await w.stop()


@contextlib.contextmanager
def write_lock(engine: Engine) -> Iterator[None]:
    """Another connection holds the write lock the writer needs (a long transaction)."""
    if engine.dialect.name == "sqlite":
        path = sqlite_path(str(engine.url))
        assert path is not None
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
    else:
        with engine.connect() as conn, conn.begin():
            conn.execute(text("LOCK TABLE event_keys IN EXCLUSIVE MODE"))
            yield


async def test_commit_slower_than_the_timeout_answers_overloaded_then_lands(
    engine: Engine,
) -> None:
    app = create_app(engine, "a")
    w = writer_for(engine, commit_timeout_seconds=0.2)
    w.start()
    events = [make_event(app.app_id) for _ in range(3)]
    with write_lock(engine):
        waiting = asyncio.ensure_future(w.submit(events))
        done, _ = await asyncio.wait([waiting], timeout=5)
        assert done, "the request kept waiting past ingest.commit_timeout_seconds"
        with pytest.raises(OverloadedError, match="commit_timeout_seconds") as info:
            waiting.result()
        assert info.value.retry_after == 5
    # The commit went on once the lock was released: the retry finds every event stored.
    assert await w.submit(events) == [False, False, False]
    assert count_events(engine) == 3
    await w.stop()


def test_take_group_fills_one_commit_and_never_splits_a_request() -> None:
    from eventkit.ingest.writer import take_group

    pending = [3, 4, 2, 50, 1]
    assert take_group(pending, 9, lambda n: n) == [3, 4, 2]
    assert take_group(pending, 9, lambda n: n) == [50]  # a big request goes alone
    assert take_group(pending, 9, lambda n: n) == [1]
    assert pending == []
