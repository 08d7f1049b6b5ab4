"""Sessions benchmark: ingest throughput with the sessions job on vs off, same run.

    python bench/sessions.py                  # batches 1 and 100, 10 s each, 2 rounds
    python bench/sessions.py --quick          # 3 s per scenario, 1 round

For each batch size, ``python -m eventkit serve`` (granian, fresh SQLite file) is
loaded with the same wrk load as bench/ingest.py, alternately with
``sessions.enabled = false`` (baseline) and ``true`` with the job every
``--job-interval`` seconds (default 5, twelve times more often than the default 60,
to make its cost visible in a short window). Half of the simulated devices send their
own ``session_id`` and half leave sessions to the server. Printed: events/s off, on,
and on/off (the goal: at least 0.85); the sessionization lag when the window closed;
and how fast the job catches up offline on the resulting database.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))
import measure as ingest  # noqa: E402  (its LUA is the load's script)
from harness import (  # noqa: E402
    HOST,
    KEY_RE,
    BenchError,
    Server,
    _clean_env,
    _tail,
    free_port,
    spawn,
    stop_all,
    stop_process,
    wait_ready,
)
from measure import run_load  # noqa: E402

GOAL = 0.85
_DEVICE_TAIL = (
    'format(\'","anonymous_id":"%s","session_id":"%s","context":%s}\', uuid4(), uuid4(), ctx)'
)
_MIXED_TAIL = (
    "(random(1, 2) == 1 and " + _DEVICE_TAIL + " or "
    'format(\'","anonymous_id":"%s","context":%s}\', uuid4(), ctx))'
)


def mixed_lua(tmp: Path) -> Path:
    """bench/wrk/ingest.lua, with half of the devices sending no session_id."""
    text = ingest.LUA.read_text()
    if _DEVICE_TAIL not in text:
        raise BenchError("bench/wrk/ingest.lua changed: update _DEVICE_TAIL in bench/sessions.py")
    path = tmp / "sessions.lua"
    path.write_text(text.replace(_DEVICE_TAIL, _MIXED_TAIL))
    return path


@dataclass
class Run:
    """One measured server."""

    sessions: bool
    batch: int
    events_per_s: float = 0.0
    acked: int = 0
    lag_events: int | None = None
    error: str = ""


def start(workdir: Path, *, sessions: bool, interval: float, thread: bool = False) -> Server:
    port = free_port()
    rundir = Path(tempfile.mkdtemp(prefix="eventkit-sessions-", dir=workdir))
    db = rundir / "bench.db"
    env = _clean_env()
    env.update(
        EVENTKIT_DATABASE_URL=f"sqlite:///{db}",
        EVENTKIT_LOAD_PLUGINS="0",
        EVENTKIT_SESSIONS__ENABLED="true" if sessions else "false",
        EVENTKIT_SESSIONS__JOB_INTERVAL_SECONDS=str(interval),
        EVENTKIT_SESSIONS__SUBPROCESS="false" if thread else "true",
    )
    log = rundir / "serve.log"
    cmd = [sys.executable, "-m", "eventkit", "serve", "--host", HOST, "--port", str(port)]
    srv = Server("eventkit", spawn(cmd, log=log, env=env, cwd=rundir), port, log, db=db)
    wait_ready(srv)
    match = KEY_RE.search(log.read_text(errors="replace"))
    if not match:
        raise BenchError(f"no write key in the first-start output:\n{_tail(log)}")
    srv.key = match.group(0)
    return srv


def _lag(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        total = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
        row = conn.execute("SELECT value FROM session_state WHERE name='watermark'").fetchone()
    return int(total) - int(row[0] if row else 0)


def measure(
    args: argparse.Namespace, sessions: bool, batch: int, tmp: Path
) -> tuple[Run, Path | None]:
    run = Run(sessions, batch)
    srv: Server | None = None
    try:
        srv = start(tmp, sessions=sessions, interval=args.job_interval, thread=args.thread)
        warm = run_load(args, srv.port, srv.key, batch, args.warmup, tmp)
        res = run_load(args, srv.port, srv.key, batch, args.duration, tmp)
        run.events_per_s = res["acked_in_window"] / args.duration
        run.acked = warm["acked_events"] + res["acked_events"]
        if sessions and srv.db is not None:
            run.lag_events = _lag(srv.db)
    except BenchError as exc:
        run.error = str(exc)
    finally:
        if srv is not None:
            stop_process(srv.proc)
    return run, (srv.db if srv is not None else None)


def catch_up(db: Path) -> tuple[int, float]:
    """Sessionize everything left in ``db`` in-process: (events, seconds)."""
    from eventkit.config import load_settings
    from eventkit.sessions.job import rebuild_sessions
    from eventkit.storage.engine import make_engine

    settings = load_settings(environ={"EVENTKIT_DATABASE_URL": f"sqlite:///{db}"})
    engine = make_engine(settings)
    started = time.perf_counter()
    res = rebuild_sessions(engine, settings)
    took = time.perf_counter() - started
    engine.dispose()
    return res.events, took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--warmup", type=float, default=2.0, help="untimed seconds first")
    parser.add_argument("--batches", default="1,100", help="events per request")
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs per batch size")
    parser.add_argument("--job-interval", type=float, default=5.0, help="job period (s)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--thread", action="store_true", help="run the job in a server thread (no child)"
    )
    parser.add_argument("--quick", action="store_true", help="3 s per scenario, 1 round")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.rounds = 3.0, 1.0, 1
    if not shutil.which("wrk"):
        print("wrk is required (apt-get install wrk)")
        return 2
    args.loadgen, args.wrk_threads = "wrk", 1

    def _terminate(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminate)
    tmp = Path(tempfile.mkdtemp(prefix="ekbench-sessions-"))
    ingest.LUA = mixed_lua(tmp)
    print(
        f"sessions benchmark: {args.duration:g} s per scenario, {args.rounds} round(s), "
        f"job every {args.job_interval:g} s ({'thread' if args.thread else 'child process'}), "
        f"{args.connections} connections, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    worst = 1.0
    failed = False
    try:
        for batch in [int(b) for b in args.batches.split(",") if b.strip()]:
            off: list[float] = []
            on: list[float] = []
            lags: list[int] = []
            last_db: Path | None = None
            for _ in range(args.rounds):
                for sessions in (False, True):
                    run, db = measure(args, sessions, batch, tmp)
                    if run.error:
                        print(
                            f"  batch {batch} sessions {'on' if sessions else 'off'}: {run.error}"
                        )
                        failed = True
                        continue
                    (on if sessions else off).append(run.events_per_s)
                    if sessions and run.lag_events is not None:
                        lags.append(run.lag_events)
                        last_db = db
            if not off or not on:
                continue
            base, with_sessions = statistics.median(off), statistics.median(on)
            ratio = with_sessions / base
            worst = min(worst, ratio)
            verdict = "ok" if ratio >= GOAL else f"BELOW the {GOAL:.2f} goal"
            print(
                f"batch {batch:>3}: sessions off {base:>9,.0f} ev/s"
                f" | on {with_sessions:>9,.0f} ev/s"
                f" | on/off {ratio:.3f} ({verdict}) | lag at window end "
                f"{max(lags) if lags else 0:,} events"
            )
            if last_db is not None and last_db.exists():
                n, took = catch_up(last_db)
                print(
                    f"           job alone, from scratch: {n:,} events in {took:.2f} s = "
                    f"{n / took if took else 0:,.0f} events/s sessionized"
                )
    except KeyboardInterrupt:
        print("interrupted")
        failed = True
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"worst on/off ratio: {worst:.3f} (goal >= {GOAL})")
    return 1 if failed or worst < GOAL else 0


if __name__ == "__main__":
    raise SystemExit(main())
