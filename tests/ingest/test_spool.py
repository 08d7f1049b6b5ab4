"""The durable spool: acknowledged while the database is locked or away, replayed once.

The database failure is real: another connection holds a lock on the tables the writer
needs (SQLite: an exclusive transaction, so commits fail after the busy timeout;
PostgreSQL: ``LOCK TABLE``, so commits hang past ``spool.after_seconds``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.config import IngestSettings, Settings
from eventkit.errors import InvalidRequestError, OverloadedError, SpoolFullError
from eventkit.ingest import wire
from eventkit.ingest.spool import RECORD, Spool, read_records
from eventkit.ingest.writer import GroupCommitWriter
from eventkit.metrics import Metrics
from eventkit.storage.apps import create_app
from eventkit.storage.engine import make_engine
from eventkit.storage.events import EventFilter, EventStore, query_events
from eventkit.storage.migrate import upgrade
from tests.conftest import make_settings
from tests.factories import make_event


@pytest.fixture
def fast_settings(database_url: str) -> Settings:
    """A short SQLite busy timeout, so a locked database fails fast."""
    return make_settings(database_url, SQLITE__BUSY_TIMEOUT_MS="100")


@pytest.fixture
def locked_engine(fast_settings: Settings) -> Iterator[Engine]:
    eng = make_engine(fast_settings)
    upgrade(eng)
    yield eng
    eng.dispose()


@contextmanager
def database_locked(engine: Engine) -> Iterator[None]:
    """Another connection holds the write lock until the block ends."""
    if engine.dialect.name == "sqlite":
        path = engine.url.database
        assert path is not None
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()
    else:
        with engine.connect() as conn:
            tx = conn.begin()
            conn.execute(text("LOCK TABLE event_keys IN ACCESS EXCLUSIVE MODE"))
            try:
                yield
            finally:
                tx.rollback()


def spooled_writer(engine: Engine, directory: Path, **kw: int) -> GroupCommitWriter:
    spool = Spool(
        directory,
        max_bytes=kw.pop("max_bytes", 10**8),
        segment_bytes=kw.pop("segment_bytes", 10**6),
    )
    store = EventStore(engine, memory_keys=kw.pop("memory_keys", 100_000))
    return GroupCommitWriter(
        store, IngestSettings(**kw), Metrics(), spool=spool, spool_after_seconds=0.5
    )


def stored_counts(engine: Engine) -> dict[str, int]:
    """How many rows each stored event_id has."""
    return dict(Counter(str(e.event_id) for e in query_events(engine, EventFilter(), limit=10**6)))


async def wait_drained(w: GroupCommitWriter, timeout: float = 30) -> None:
    assert w.spool is not None
    deadline = time.monotonic() + timeout
    while w.spool.events or w.spool.own_pending:
        assert time.monotonic() < deadline, f"spool not drained: {w.drain_error}"
        await asyncio.sleep(0.05)


def ids_of(events: list[object]) -> set[str]:
    return {str(e.event_id) for e in events}  # type: ignore[attr-defined]


def test_records_round_trip_and_a_torn_tail_is_ignored(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=10**6, segment_bytes=10**6)
    spool.append(b'{"events":[]}', 3)
    spool.append(b"second", 2)
    assert spool.events == 5
    (segment,) = spool.segments
    with segment.path.open("ab") as f:  # a crash mid-append: header, half a body
        f.write(RECORD.pack(100, 0, 0, 1) + b"half")
    assert [(n, b) for _, n, b in read_records(segment.path)] == [
        (3, b'{"events":[]}'),
        (2, b"second"),
    ]
    spool.close()


def test_a_full_spool_refuses_with_retry_after(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=200, segment_bytes=10**6)
    spool.append(b"x" * 100, 1)
    with pytest.raises(SpoolFullError) as err:
        spool.append(b"x" * 100, 1)
    assert isinstance(err.value, OverloadedError)
    assert err.value.retry_after > 0
    assert spool.events == 1
    spool.close()


def test_segments_of_a_live_process_are_not_claimed_but_a_dead_ones_are(
    tmp_path: Path,
) -> None:
    live = Spool(tmp_path, max_bytes=10**6, segment_bytes=10**6)
    live.append(b"a", 1)
    other = Spool(tmp_path, max_bytes=10**6, segment_bytes=10**6)
    other.claim_orphans()
    assert other.events == 0
    assert other.bytes == live.bytes  # counted against the bound, not replayed
    live.close()  # the owner is gone: its segment stays on disk, unlocked
    other.claim_orphans()
    assert other.events == 1
    other.close()


async def test_locked_database_is_spooled_acknowledged_and_replayed_once(
    locked_engine: Engine, tmp_path: Path
) -> None:
    app = create_app(locked_engine, "a")
    w = spooled_writer(locked_engine, tmp_path / "spool")
    w.start()
    before = [make_event(app.app_id) for _ in range(5)]
    assert await w.submit(before) == [True] * 5
    during = [[make_event(app.app_id) for _ in range(3)] for _ in range(10)]
    with database_locked(locked_engine):
        results = await asyncio.gather(*(w.submit(b) for b in during))
        assert all(r == [True, True, True] for r in results)
        assert w.spool is not None
        assert w.spool.events > 0
        # A client retry of an acknowledged batch while spooled: stored once in the end.
        assert await w.submit(during[0]) == [True] * 3
    await wait_drained(w)
    after = [make_event(app.app_id) for _ in range(4)]
    assert await w.submit(after) == [True] * 4
    await w.stop()
    sent = ids_of(before) | ids_of([e for b in during for e in b]) | ids_of(after)
    counts = stored_counts(locked_engine)
    assert set(counts) == sent
    assert set(counts.values()) == {1}
    # At least the retried batch; on PostgreSQL the commits that hung on the lock also
    # finish once it is released, so their spooled copies replay as duplicates too.
    dups = w.metrics.registry.get_sample_value("eventkit_spool_replayed_duplicates_total")
    assert dups is not None
    assert dups >= 3
    assert not list((tmp_path / "spool").glob("*.spool"))


async def test_what_a_stopped_writer_left_spooled_is_replayed_by_the_next(
    locked_engine: Engine, tmp_path: Path
) -> None:
    app = create_app(locked_engine, "a")
    events = [make_event(app.app_id) for _ in range(7)]
    first = spooled_writer(locked_engine, tmp_path / "spool")
    with database_locked(locked_engine):
        first.start()
        assert await first.submit(events) == [True] * 7
        if locked_engine.dialect.name == "sqlite":
            await first.stop()
            assert stored_counts(locked_engine) == {}
    # On PostgreSQL the commit that hung on the lock holds the writer thread until the
    # lock is released (it then succeeds, and the replay finds duplicates).
    if locked_engine.dialect.name != "sqlite":
        await first.stop()
    second = spooled_writer(locked_engine, tmp_path / "spool")
    second.start()
    deadline = time.monotonic() + 30
    while len(stored_counts(locked_engine)) < 7:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    await second.stop()
    assert stored_counts(locked_engine) == dict.fromkeys(ids_of(events), 1)


async def test_a_replay_after_keys_were_merged_and_the_writer_restarted_stores_once(
    locked_engine: Engine, tmp_path: Path
) -> None:
    """Committed events, then the same events resent and spooled while the database is
    locked; other writes merge the in-memory keys into event_keys; the next writer
    (keys rebuilt from the database) replays the spool: the resent events are
    duplicates, the new ones are stored, each once."""
    app = create_app(locked_engine, "a")
    committed = [make_event(app.app_id, timestamp=10**15 + i) for i in range(5)]
    new = [make_event(app.app_id, timestamp=10**15 + 99 + i) for i in range(3)]
    first = spooled_writer(locked_engine, tmp_path / "spool", memory_keys=4)
    first.start()
    assert await first.submit(committed) == [True] * 5
    with database_locked(locked_engine):
        assert await first.submit(committed) == [True] * 5  # spooled: not known yet
        assert await first.submit(new) == [True] * 3
        if locked_engine.dialect.name == "sqlite":
            await first.stop()
    if locked_engine.dialect.name != "sqlite":
        await first.stop()
    other = EventStore(locked_engine, memory_keys=4)  # merges everything it holds
    assert other.write([make_event(app.app_id) for _ in range(6)]) == [True] * 6
    second = spooled_writer(locked_engine, tmp_path / "spool", memory_keys=4)
    second.start()
    deadline = time.monotonic() + 30
    while not ids_of(new) <= set(stored_counts(locked_engine)):
        assert time.monotonic() < deadline, second.drain_error
        await asyncio.sleep(0.05)
    await wait_drained(second)
    await second.stop()
    counts = stored_counts(locked_engine)
    assert {i: counts.get(i) for i in ids_of(committed) | ids_of(new)} == dict.fromkeys(
        ids_of(committed) | ids_of(new), 1
    )
    dups = second.metrics.registry.get_sample_value("eventkit_spool_replayed_duplicates_total")
    assert dups == 5 or locked_engine.dialect.name != "sqlite"


async def test_spool_full_answers_overloaded_and_keeps_nothing(
    locked_engine: Engine, tmp_path: Path
) -> None:
    app = create_app(locked_engine, "a")
    body = len(wire.encode_request([make_event(app.app_id)], []))
    w = spooled_writer(locked_engine, tmp_path / "spool", max_bytes=body * 3)
    w.start()
    acked: list[str] = []
    refused = retry_after = 0
    with database_locked(locked_engine):
        for _ in range(6):
            e = make_event(app.app_id)
            try:
                await w.submit([e])
                acked.append(str(e.event_id))
            except OverloadedError as exc:
                retry_after = exc.retry_after
                refused += 1
    assert acked
    assert refused
    assert retry_after > 0
    await wait_drained(w)
    await w.stop()
    assert stored_counts(locked_engine) == dict.fromkeys(acked, 1)


DISK_FULL = """
import resource, signal, sys
from pathlib import Path
from eventkit.errors import SpoolFullError
from eventkit.ingest.spool import Spool, read_records
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (5000, 5000))
spool = Spool(Path(sys.argv[1]), max_bytes=10**9, segment_bytes=10**9)
acked = 0
try:
    for _ in range(100):
        spool.append(b"x" * 300, 1)
        acked += 1
except SpoolFullError as exc:
    print("refused", exc.retry_after, exc.message)
(segment,) = spool.segments
print("acked", acked, "readable", len(read_records(segment.path)))
"""


def test_a_full_disk_refuses_and_keeps_every_acknowledged_record(tmp_path: Path) -> None:
    """The file-size limit (RLIMIT_FSIZE) makes writes fail as on a full disk."""
    out = subprocess.run(
        [sys.executable, "-c", DISK_FULL, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "refused 5 the database is unavailable and the spool cannot be written" in out
    acked = int(out.split("acked ")[1].split()[0])
    readable = int(out.split("readable ")[1].split()[0])
    assert acked > 0
    assert readable == acked  # the partial record was cut; the rest replays


async def test_a_request_the_database_refuses_fails_alone(engine: Engine) -> None:
    """PostgreSQL cannot store NUL characters: the request carrying one gets a 400,
    the requests committed in the same group are stored."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores NUL characters")
    app = create_app(engine, "a")
    w = GroupCommitWriter(EventStore(engine), IngestSettings(), Metrics())
    w.start()
    good = [[make_event(app.app_id)] for _ in range(5)]
    bad = [make_event(app.app_id, name="bad\x00name")]
    results = await asyncio.gather(
        *(w.submit(b) for b in [*good[:2], bad, *good[2:]]), return_exceptions=True
    )
    await w.stop()
    assert isinstance(results[2], InvalidRequestError)
    assert "NUL" in results[2].message
    assert [r for i, r in enumerate(results) if i != 2] == [[True]] * 5
    assert set(stored_counts(engine)) == ids_of([e for b in good for e in b])


async def test_a_spooled_record_the_database_refuses_is_set_aside(
    locked_engine: Engine, tmp_path: Path
) -> None:
    if locked_engine.dialect.name != "postgresql":
        pytest.skip("SQLite stores NUL characters")
    app = create_app(locked_engine, "a")
    w = spooled_writer(locked_engine, tmp_path / "spool")
    w.start()
    good = [make_event(app.app_id) for _ in range(3)]
    bad = make_event(app.app_id, name="bad\x00name")
    with database_locked(locked_engine):
        assert await w.submit(good[:1]) == [True]  # spooled after the timeout
        assert await w.submit([bad]) == [True]  # acknowledged: now only in the spool
        assert await w.submit(good[1:]) == [True, True]
    await wait_drained(w)
    await w.stop()
    assert set(stored_counts(locked_engine)) == ids_of(good)
    (aside,) = (tmp_path / "spool" / "rejected").glob("*.json")
    assert str(bad.event_id) in aside.read_text()
    assert "NUL" in aside.with_suffix(".reason").read_text()
    assert w.metrics.registry.get_sample_value("eventkit_spool_rejected_events_total") == 1
