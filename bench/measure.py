"""One measured scenario of bench/ingest.py: a server, a load, the counts afterwards.

The load is wrk with bench/wrk/ingest.lua (fresh random UUID v4 per event), or a
multi-process Python client when wrk is missing. An eventkit scenario runs against a
``Target`` (a fresh SQLite file, a copy of a history, a fresh or cloned PostgreSQL
database); after it the server is stopped and the rows stored must equal the events
acknowledged with 200.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import signal
import sqlite3
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import (
    BENCH,
    HOST,
    BenchError,
    Server,
    spawn,
    start_ceiling,
    start_eventkit,
    stop_process,
)
from history import clone_postgres, copy_sqlite, spend_sqlite
from loadgen import run_python_clients
from memory import TreeSampler, command_cpu, machine_busy, tree_cpu

__all__ = ["LUA", "PostgresTarget", "Scenario", "SqliteTarget", "measure", "run_load"]

LUA = BENCH / "wrk" / "ingest.lua"
#: Longest wait for in-flight requests after the window (eventkit answers 503 after
#: ingest.commit_timeout_seconds = 30 s).
DRAIN_MAX = 45.0


# ------------------------------------------------------------------ targets


@dataclass
class SqliteTarget:
    """A fresh SQLite file, or a private copy of a history (``history`` doc).

    ``in_place`` runs on the cached history itself, for a history whose copy does not
    fit on the disk (the 100M point); the run spends it: its cache entry is removed, so
    the next run rebuilds it.
    """

    history: dict[str, Any] | None = None
    database: str = "sqlite"
    path: Path | None = None
    in_place: bool = False
    #: Settings for this scenario only (``EVENTKIT_...``), and its short name in labels.
    env: dict[str, str] = field(default_factory=dict)
    variant: str = ""

    @property
    def events_before(self) -> int:
        return int(self.history["events"]) if self.history else 0

    def setup(self, rundir: Path) -> tuple[str | None, str]:
        if self.history is None:
            self.path = rundir / "bench.db"
            return None, ""
        if self.in_place:
            spend_sqlite(self.history)
            self.path = Path(self.history["path"])
        else:
            self.path = copy_sqlite(self.history, rundir)
        return f"sqlite:///{self.path}", str(self.history["key"])

    def rows(self) -> int:
        assert self.path is not None
        with contextlib.closing(sqlite3.connect(self.path)) as conn:
            return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])

    def teardown(self) -> None:
        if self.path is not None and not self.in_place:
            shutil.rmtree(self.path.parent, ignore_errors=True)


@dataclass
class PostgresTarget:
    """A fresh PostgreSQL database, or a clone of a history template."""

    admin_url: str
    history: dict[str, Any] | None = None
    database: str = "postgres"
    url: str = ""

    @property
    def events_before(self) -> int:
        return int(self.history["events"]) if self.history else 0

    def setup(self, rundir: Path) -> tuple[str | None, str]:
        import psycopg

        if self.history is not None:
            self.url = clone_postgres(self.admin_url, self.history["database"])
            return self.url, str(self.history["key"])
        name = f"ek_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        self.url = self.admin_url.rsplit("/", 1)[0] + "/" + name
        return self.url, ""

    def rows(self) -> int:
        import psycopg

        with psycopg.connect(self.url) as conn:
            row = conn.execute("SELECT count(*) FROM events").fetchone()
            return int(row[0]) if row else 0

    def teardown(self) -> None:
        import psycopg

        if not self.url:
            return
        name = self.url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


Target = SqliteTarget | PostgresTarget


# ------------------------------------------------------------------ load


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_wrk(
    port: int, key: str, batch: int, window: float, connections: int, threads: int, tmp: Path
) -> dict[str, Any]:
    threads = max(1, min(threads, connections))
    per_thread = connections // threads
    markers = Path(tempfile.mkdtemp(prefix="wrk-", dir=tmp))
    cmd = ["wrk", "-t", str(threads), "-c", str(per_thread * threads)]
    cmd += ["-d", f"{int(window + DRAIN_MAX)}s", "--latency", "--timeout", "40s", "-s", str(LUA)]
    cmd += [f"http://{HOST}:{port}", "--", str(batch), key, str(window), str(per_thread)]
    cmd += [str(markers)]
    out = tmp / "wrk.out"
    proc = spawn(cmd, log=out, env=dict(os.environ), cwd=tmp)
    try:
        # Every thread parks its connections once the window is over and their
        # in-flight responses are in; then wrk may stop (it would sleep out -d).
        deadline = time.monotonic() + window + DRAIN_MAX + 10
        while proc.poll() is None and time.monotonic() < deadline:
            if len(list(markers.glob("drained-*"))) >= threads:
                proc.send_signal(signal.SIGINT)
                break
            time.sleep(0.05)
        proc.wait(timeout=DRAIN_MAX + 15)
    finally:
        stop_process(proc, graceful=5)
    text = out.read_text(errors="replace")
    line = next((ln for ln in text.splitlines() if ln.startswith("EKBENCH ")), None)
    if line is None:
        raise BenchError(f"wrk gave no summary (exit {proc.returncode}):\n{text[-2000:]}")
    result: dict[str, Any] = json.loads(line[len("EKBENCH ") :])
    result["all_drained"] = result["drained"] >= threads
    return result


def run_load(
    args: argparse.Namespace, port: int, key: str, batch: int, window: float, tmp: Path
) -> dict[str, Any]:
    if args.loadgen == "wrk":
        return run_wrk(port, key, batch, window, args.connections, args.wrk_threads, tmp)
    res = run_python_clients(HOST, port, key, batch, window, args.connections, args.client_procs)
    res["all_drained"] = True
    return res


# ------------------------------------------------------------------ scenarios


@dataclass
class Scenario:
    """One measured server configuration."""

    kind: str  # "ceiling" or "eventkit"
    server: str
    batch: int
    workers: int
    database: str = "sqlite"
    history: int = 0
    #: Settings of this scenario's own (``SqliteTarget.env``) and their short name in
    #: the label, e.g. "16M cache".
    settings: dict[str, str] = field(default_factory=dict)
    variant: str = ""
    events_per_s: float = 0.0
    requests_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    server_cpu_pct: float = 0.0
    loadgen_cpu_pct: float = 0.0
    #: CPU of each process role of the serve tree during the window, % of one core.
    cpu_by_role: dict[str, float] = field(default_factory=dict)
    #: CPU of the database server's processes (PostgreSQL on this machine), % of one core.
    db_cpu_pct: float = 0.0
    #: CPU used by everything else on the machine during the window, % of one core.
    other_cpu_pct: float = 0.0
    peak_pss_mib: float = 0.0
    peak_rss_mib: float = 0.0
    #: PSS of each process role at the PSS peak.
    pss_by_role: dict[str, float] = field(default_factory=dict)
    non_200: int = 0
    socket_errors: int = 0
    acked_events: int = 0
    rows: int | None = None
    correct: bool | None = None
    commit_events_mean: float | None = None
    commit_ms_mean: float | None = None
    error: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        if self.kind == "ceiling":
            return f"(a) ceiling {self.server:<8} batch {self.batch:<3}"
        where = self.database + (f" +{_short(self.history)}" if self.history else "")
        where += f" {self.variant}" if self.variant else ""
        return f"eventkit {where:<13} batch {self.batch:<3}"


def _short(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 and n % 1_000_000 == 0 else f"{n // 1000}k"


def _metrics(port: int) -> dict[str, float]:
    """The eventkit commit histograms' sums and counts from /metrics (one worker's)."""
    wanted = (
        "eventkit_commit_events_sum",
        "eventkit_commit_events_count",
        "eventkit_commit_seconds_sum",
        "eventkit_commit_seconds_count",
    )
    found: dict[str, float] = {}
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return found
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in wanted:
            found[name] = float(value)
    return found


def _start(
    kind: str, args: argparse.Namespace, server: str, tmp: Path, target: Target | None
) -> Server:
    if kind == "ceiling":
        return start_ceiling(server, args.workers, tmp)
    assert target is not None
    rundir = Path(tempfile.mkdtemp(prefix=f"eventkit-{server}-", dir=tmp))
    url, key = target.setup(rundir)
    return start_eventkit(
        server, args.workers, tmp, database_url=url, key=key, rundir=rundir,
        settings=target.env if isinstance(target, SqliteTarget) else None,
    )  # fmt: skip


def _window(
    args: argparse.Namespace, sc: Scenario, srv: Server, tmp: Path, sampler: TreeSampler
) -> dict[str, Any]:
    """The timed load, with the serve tree's CPU per role and memory peaks."""
    db0 = command_cpu("postgres") if sc.database == "postgres" else {}
    busy0 = machine_busy()
    cpu0, gen0, t0 = tree_cpu(srv.proc.pid), _children_cpu(), time.monotonic()
    sampler.start()
    try:
        res = run_load(args, srv.port, srv.key or "bench", sc.batch, args.duration, tmp)
    finally:
        sampler.stop()
    wall = time.monotonic() - t0
    cpu1 = tree_cpu(srv.proc.pid)
    sc.cpu_by_role = {r: 100 * (cpu1[r] - cpu0.get(r, 0.0)) / wall for r in cpu1}
    sc.server_cpu_pct = sum(sc.cpu_by_role.values())
    sc.loadgen_cpu_pct = 100 * (_children_cpu() - gen0) / wall
    busy = 100 * (machine_busy() - busy0) / wall
    if sc.database == "postgres":
        db1 = command_cpu("postgres")
        sc.db_cpu_pct = 100 * sum(v - db0.get(pid, 0.0) for pid, v in db1.items()) / wall
    used = sc.server_cpu_pct + sc.loadgen_cpu_pct + sc.db_cpu_pct
    sc.other_cpu_pct = max(0.0, busy - used)
    sc.peak_pss_mib = sampler.peak_pss_kib / 1024
    sc.peak_rss_mib = sampler.peak_rss_kib / 1024
    sc.pss_by_role = {r: v / 1024 for r, v in sampler.at_peak.items()}
    return res


def measure(
    args: argparse.Namespace,
    kind: str,
    server: str,
    batch: int,
    tmp: Path,
    target: Target | None = None,
) -> Scenario:
    """Run one scenario: warm-up (untimed, its rows count), then the timed window."""
    sc = Scenario(kind, server, batch, args.workers)
    if target is not None:
        sc.database, sc.history = target.database, target.events_before
        if isinstance(target, SqliteTarget):
            sc.settings, sc.variant = dict(target.env), target.variant
    srv: Server | None = None
    acked = accepted = dups = 0
    drained = True
    try:
        srv = _start(kind, args, server, tmp, target)
        warm = run_load(args, srv.port, srv.key or "bench", batch, args.warmup, tmp)
        if warm["ok"] == 0:
            raise BenchError(f"no request succeeded during warm-up: {warm['first_errors']}")
        res = _window(args, sc, srv, tmp, TreeSampler(srv.proc.pid))
        for r in (warm, res):
            acked += r["acked_events"]
            accepted += r["accepted"]
            dups += r["duplicates"]
            drained &= r["all_drained"]
        sc.events_per_s = res["acked_in_window"] / args.duration
        sc.requests_per_s = res["ok_in_window"] / args.duration
        sc.p50_ms = res["latency_us"]["p50"] / 1000
        sc.p99_ms = res["latency_us"]["p99"] / 1000
        sc.non_200 = warm["not_ok"] + res["not_ok"]
        sc.socket_errors = sum(
            v for r in (warm, res) for k, v in r["socket_errors"].items() if k != "status"
        )
        sc.acked_events = acked
        if res["first_errors"]:
            sc.notes.append(f"first non-200: {res['first_errors'][0][:200]}")
        if kind == "eventkit":
            m = _metrics(srv.port)
            if m.get("eventkit_commit_events_count"):
                n = m["eventkit_commit_events_count"]
                sc.commit_events_mean = m["eventkit_commit_events_sum"] / n
                sc.commit_ms_mean = 1000 * m["eventkit_commit_seconds_sum"] / n
    except BenchError as exc:
        sc.error = str(exc)
    finally:
        if srv is not None:
            stop_process(srv.proc)
    if target is not None:
        try:
            if srv is not None and not sc.error:
                _check(sc, target, acked, accepted, dups, drained)
        finally:
            target.teardown()
    return sc


def _check(
    sc: Scenario, target: Target, acked: int, accepted: int, dups: int, drained: bool
) -> None:
    """Stored rows (beyond the history) must equal the events acknowledged."""
    sc.rows = target.rows() - target.events_before
    sc.correct = sc.rows == acked
    if not sc.correct:
        why = "" if drained else " (some in-flight requests never got an answer)"
        sc.error = f"rows stored = {sc.rows}, events acknowledged with 200 = {acked}{why}"
    if dups:
        sc.notes.append(f"{dups} events answered as duplicates: event ids collided")
    if accepted != acked:
        sc.notes.append(f"accepted counts in the answers sum to {accepted}, not {acked}")
