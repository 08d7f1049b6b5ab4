"""The writer process's work alone, and what its parts cost (bench/ingest.py prints it).

The same kind of batches the load sends are validated and encoded as the server workers
send them to the writer process (``wire.encode_batch``, groups of 1,600 events), then
decoded and written with ``EventStore.write_rows`` into fresh SQLite files, in-process,
with eventkit's pragmas:

- as shipped;
- without the ``(app_id, ts)`` index of ``events`` (what the readers' time ranges use);
- decode only (no database).

CPU per event, not wall time, is compared: the runs share the machine with whatever
else runs. The difference between the first two is what the time index costs the one
serial step of ingest.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from loadgen import BodyFactory

__all__ = ["WriterParts", "writer_parts"]

_GROUP = 1_600


@dataclass
class WriterParts:
    """CPU microseconds per event of the writer's work, and its events/s as shipped."""

    events: int
    shipped_us: float
    no_time_index_us: float
    decode_us: float
    shipped_per_s: float

    @property
    def time_index_us(self) -> float:
        return self.shipped_us - self.no_time_index_us


def _bodies(n: int) -> list[bytes]:
    from eventkit.config import Settings
    from eventkit.ingest import wire
    from eventkit.ingest.service import CaptureService
    from eventkit.metrics import Metrics

    factory = BodyFactory(seed=3)
    # Only validation is used: no writer behind it.
    service = CaptureService(Settings(), None, Metrics())  # type: ignore[arg-type]
    events: list[object] = []
    start = time.time_ns() // 1000
    while len(events) < n:
        # Arrivals spread as under load: 60,000 events per second.
        received = start + len(events) * 1_000_000 // 60_000
        accepted, _ = service.validate_batch(
            1, factory.body(100), ip="127.0.0.1", received_at=received
        )
        events.extend(accepted)
    return [
        wire.encode_batch(events[i : i + _GROUP], [])[wire.HEADER.size :]  # type: ignore[arg-type]
        for i in range(0, n, _GROUP)
    ]


def _cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _write(bodies: list[bytes], directory: Path, *, time_index: bool) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of writing every body into a fresh file."""
    from eventkit.config import load_settings
    from eventkit.ingest import wire
    from eventkit.storage.engine import make_engine
    from eventkit.storage.events import EventStore
    from eventkit.storage.migrate import upgrade

    db = directory / f"writer-{time_index}.db"
    settings = load_settings(path=None, environ={"EVENTKIT_DATABASE_URL": f"sqlite:///{db}"})
    engine = make_engine(settings)
    try:
        upgrade(engine)
        if not time_index:
            with engine.begin() as conn:
                conn.exec_driver_sql("DROP INDEX ix_events_app_ts")
        store = EventStore(engine, memory_keys=settings.ingest.dedup_memory_keys)
        cpu, wall = _cpu(), time.perf_counter()
        for body in bodies:
            batch = wire.decode_batch(body)
            store.write_rows(batch.rows, batch.keys, batch.ops)
        return _cpu() - cpu, time.perf_counter() - wall
    finally:
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)


def writer_parts(events: int = 400_000, rounds: int = 2) -> WriterParts:
    """Measure, alternating the variants ``rounds`` times and keeping each one's best."""
    from eventkit.ingest import wire

    bodies = _bodies(events)
    n = len(bodies) * _GROUP
    shipped = no_index = decode = wall_shipped = float("inf")
    with tempfile.TemporaryDirectory(prefix="ekwriter-", dir=os.environ.get("TMPDIR")) as tmp:
        for _ in range(rounds):
            cpu, wall = _write(bodies, Path(tmp), time_index=True)
            if cpu < shipped:
                shipped, wall_shipped = cpu, wall
            no_index = min(no_index, _write(bodies, Path(tmp), time_index=False)[0])
            cpu = _cpu()
            for body in bodies:
                wire.decode_batch(body)
            decode = min(decode, _cpu() - cpu)
    return WriterParts(
        events=n,
        shipped_us=1e6 * shipped / n,
        no_time_index_us=1e6 * no_index / n,
        decode_us=1e6 * decode / n,
        shipped_per_s=n / wall_shipped,
    )
