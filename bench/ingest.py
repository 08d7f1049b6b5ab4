"""Ingest benchmark: eventkit's capture API against baselines measured in the same run.

    python bench/ingest.py                 # full run (make bench)
    python bench/ingest.py --quick         # 2 s per scenario, small history (CI)

Scenarios (bench/README.md explains each):

(a) ceiling   the same ASGI server serving a Litestar endpoint that only decodes the
              body into eventkit's structs (bench/ceiling_app.py), batches of 1 and 100;
    eventkit  ``python -m eventkit serve`` on a fresh SQLite file, same loads; the
              whole serve process tree's peak PSS and RSS and CPU per process;
(b) sqlite    raw ``sqlite3`` executemany of the same rows into an index-free table;
    history   eventkit, batches of 100, into an empty database and into copies of
              databases already holding N events (--history, built once, cached);
    postgres  eventkit on PostgreSQL (empty and with history) beside raw ``COPY`` of the
              same rows into an index-free copy of ``events`` (--postgres URL).

After every eventkit run the server is stopped and the rows stored must equal the
events acknowledged with 200 (``check`` lines). The goals of issue 19 are printed last,
each with the measured figure, its same-run baseline and, when missed, the reason the
run measured and the next lever.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sqlite3
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import harness  # noqa: E402
from baselines import copy_baseline, sqlite_baseline  # noqa: E402
from goals import Goal, evaluate  # noqa: E402
from harness import ROOT, BenchError, stop_all  # noqa: E402
from history import postgres_history, sqlite_history  # noqa: E402
from measure import LUA, PostgresTarget, Scenario, SqliteTarget, measure  # noqa: E402
from writer import WriterParts, writer_parts  # noqa: E402

PG_DEFAULT = os.environ.get("EVENTKIT_BENCH_POSTGRES_URL") or os.environ.get(
    "EVENTKIT_TEST_POSTGRES_URL", ""
)


def _sizes(text: str) -> list[int]:
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        mult = {"k": 1_000, "m": 1_000_000}.get(part[-1], 1)
        out.append(int(float(part.rstrip("km")) * mult))
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="eventkit ingest benchmark (see bench/README.md)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    p.add_argument("--connections", type=int, default=32, help="concurrent connections")
    p.add_argument("--servers", default="granian", help="ASGI servers (granian, uvicorn)")
    p.add_argument("--batches", default="1,100", help="events per request")
    p.add_argument("--workers", type=int, default=1, help="server worker processes")
    p.add_argument("--quick", action="store_true", help="2 s per scenario (CI smoke run)")
    p.add_argument("--history", default=None, help="history sizes, e.g. 1M,10M ('' skips)")
    p.add_argument(
        "--small-cache-mb",
        type=int,
        default=16,
        help="also run batch 100 with this sqlite.cache_size_mb, for the memory goal (0 skips)",
    )
    p.add_argument("--compact-history", action="store_true", help="~200-byte history rows")
    p.add_argument(
        "--history-in-place",
        action="store_true",
        help="run on the cached SQLite history, not a copy (it is rebuilt next time)",
    )
    p.add_argument("--postgres", default=None, help="PostgreSQL admin URL ('' skips)")
    p.add_argument("--pg-history", default=None, help="PostgreSQL history sizes")
    p.add_argument("--json", type=Path, help="write the results to this file")
    p.add_argument("--warmup", type=float, default=None, help="warm-up seconds (untimed)")
    p.add_argument("--txn-rows", type=int, default=1000, help="rows per baseline transaction")
    p.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    p.add_argument("--wrk-threads", type=int, default=1, help="wrk threads")
    p.add_argument("--client-procs", type=int, default=2, help="Python client processes")
    p.add_argument("--no-sqlite", action="store_true", help="skip the raw sqlite (b) run")
    p.add_argument("--writer", choices=["process", "thread"], default="process")
    p.add_argument("--set", action="append", default=[], metavar="ENV=VALUE")
    args = p.parse_args(argv)
    harness.WRITER_MODE = args.writer
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("EVENTKIT_"):
            p.error(f"--set wants EVENTKIT_NAME=VALUE, got {item!r}")
        harness.EXTRA_ENV[key] = value
    if args.quick:
        args.duration = 2.0
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 2.0
    if args.history is None:
        args.history = "200k" if args.quick else "1M,10M"
    if args.postgres is None:
        args.postgres = "" if args.quick else PG_DEFAULT
    if args.pg_history is None:
        args.pg_history = "" if args.quick else "1M"
    args.server_list = [s.strip() for s in args.servers.split(",") if s.strip()]
    args.batch_list = [int(b) for b in args.batches.split(",") if b.strip()]
    args.history_sizes = _sizes(args.history)
    args.pg_history_sizes = _sizes(args.pg_history) if args.postgres else []
    for s in args.server_list:
        if s not in ("granian", "uvicorn"):
            p.error(f"unknown server {s!r}: use granian and/or uvicorn")
    if args.loadgen == "auto":
        args.loadgen = "wrk" if shutil.which("wrk") else "python"
    return args


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for dist in ("eventkit", "granian", "uvicorn", "litestar", "msgspec"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "-"
    return out


class Run:
    """The scenarios of one benchmark run, in the order they ran."""

    def __init__(self, args: argparse.Namespace, tmp: Path) -> None:
        self.args = args
        self.tmp = tmp
        self.scenarios: list[Scenario] = []
        self.raw: dict[str, Any] | None = None
        self.copy: dict[str, Any] | None = None
        self.writer: WriterParts | None = None
        self.failures: list[str] = []

    def scenario(self, kind: str, server: str, batch: int, target: Any = None) -> Scenario:
        sc = measure(self.args, kind, server, batch, self.tmp, target)
        self.scenarios.append(sc)
        status = "FAILED" if sc.error else f"{sc.events_per_s:,.0f} events/s"
        extra = f", peak PSS {sc.peak_pss_mib:.0f} MiB" if sc.kind == "eventkit" else ""
        print(f"  {sc.label}: {status}{extra}", flush=True)
        return sc

    def baseline(self, name: str, fn: Any) -> dict[str, Any] | None:
        try:
            out: dict[str, Any] = fn()
        except (BenchError, OSError) as exc:
            self.failures.append(f"{name}: {exc}")
            print(f"  {name}: FAILED: {exc}", flush=True)
            return None
        print(f"  {name}: {out['rows_per_s']:,.0f} rows/s", flush=True)
        return out

    def sqlite_section(self) -> None:
        args = self.args
        for server in args.server_list:
            for batch in args.batch_list:
                # Ceiling and eventkit back to back, so their ratio sees the same machine.
                self.scenario("ceiling", server, batch)
                self.scenario("eventkit", server, batch, SqliteTarget())
        if args.small_cache_mb and 100 in args.batch_list:
            # The memory goal's trade, measured in the same run: the writer's PSS is
            # mostly SQLite's page cache (docs/performance.md).
            mb = args.small_cache_mb
            small = SqliteTarget(
                env={"EVENTKIT_SQLITE__CACHE_SIZE_MB": str(mb)}, variant=f"{mb}M cache"
            )
            self.scenario("eventkit", args.server_list[0], 100, small)
        if not args.no_sqlite:
            self.raw = self.baseline(
                "(b) raw sqlite3", lambda: sqlite_baseline(args.duration, args.txn_rows, self.tmp)
            )
        if not args.quick and 100 in args.batch_list:
            self.writer = writer_parts()
            print(f"  writer process alone: {self.writer.shipped_per_s:,.0f} events/s", flush=True)

    def history_section(self) -> None:
        """Batches of 100 into each history, then into an empty database again: with the
        empty run of the SQLite section before them, two empty runs bracket the
        machine's drift."""
        args = self.args
        if not args.history_sizes:
            return
        server = args.server_list[0]
        docs = [
            sqlite_history(n, compact=args.compact_history, log=print) for n in args.history_sizes
        ]
        if 100 not in args.batch_list:
            self.scenario("eventkit", server, 100, SqliteTarget())
        for doc in docs:
            target = SqliteTarget(doc, in_place=args.history_in_place)
            self.scenario("eventkit", server, 100, target)
        self.scenario("eventkit", server, 100, SqliteTarget())

    def postgres_section(self) -> None:
        args = self.args
        if not args.postgres:
            return
        server = args.server_list[0]
        try:
            docs = [postgres_history(args.postgres, n, log=print) for n in args.pg_history_sizes]
        except Exception as exc:  # the server is not reachable: say so, run the rest
            self.failures.append(f"PostgreSQL: {exc}")
            print(f"  PostgreSQL: FAILED: {exc}", flush=True)
            return
        self.scenario("eventkit", server, 100, PostgresTarget(args.postgres))
        self.copy = self.baseline(
            "raw COPY (PostgreSQL)",
            lambda: copy_baseline(args.postgres, args.duration, args.txn_rows),
        )
        for doc in docs:
            self.scenario("eventkit", server, 100, PostgresTarget(args.postgres, doc))
        if docs:
            self.scenario("eventkit", server, 100, PostgresTarget(args.postgres))


def report(run: Run) -> list[Goal]:
    by_key = {(s.kind, s.server, s.batch): s for s in run.scenarios if s.kind == "ceiling"}
    print()
    head = (
        f"{'scenario':<34} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'srv CPU':>8} "
        f"{'gen CPU':>8} {'PSS MiB':>8} {'RSS MiB':>8}  {'vs (a)':>7} {'vs (b)':>7}"
    )
    print(head)
    print("-" * len(head))
    for s in run.scenarios:
        if s.error and not s.events_per_s:
            print(f"{s.label:<34} FAILED: {s.error.splitlines()[0][:90]}")
            continue
        vs_a = vs_b = ""
        ceil = by_key.get(("ceiling", s.server, s.batch))
        if s.kind == "eventkit" and ceil is not None and ceil.events_per_s and not s.history:
            vs_a = f"{100 * s.events_per_s / ceil.events_per_s:5.1f}%"
        base = run.raw if s.database == "sqlite" else run.copy
        if s.kind == "eventkit" and base:
            vs_b = f"{100 * s.events_per_s / base['rows_per_s']:5.1f}%"
        mem = (
            f"{s.peak_pss_mib:>8.0f} {s.peak_rss_mib:>8.0f}"
            if s.kind == "eventkit"
            else f"{'':>8} {'':>8}"
        )
        print(
            f"{s.label:<34} {s.events_per_s:>10,.0f} {s.p50_ms:>8.1f} {s.p99_ms:>8.1f} "
            f"{s.server_cpu_pct:>7.0f}% {s.loadgen_cpu_pct:>7.0f}% {mem}  {vs_a:>7} {vs_b:>7}"
        )
    for name, base in (("(b) raw sqlite3 executemany", run.raw), ("raw COPY", run.copy)):
        if base:
            print(
                f"{name:<34} {base['rows_per_s']:>10,.0f}   rows/s, {base['txn_rows']} rows per "
                f"transaction, {base['ms_per_commit']:.1f} ms per commit"
            )
    w = run.writer
    if w is not None:
        print(
            f"{'writer alone (EventStore.write_rows)':<34} {w.shipped_per_s:>10,.0f}   events/s, "
            f"{w.shipped_us:.1f} µs CPU per event: decoding {w.decode_us:.1f}, the "
            f"(app_id, ts) index {w.time_index_us:.1f} (without it {w.no_time_index_us:.1f})"
        )
    print()
    for s in run.scenarios:
        if s.kind != "eventkit":
            continue
        roles = ", ".join(f"{r} {v:.0f}%" for r, v in sorted(s.cpu_by_role.items()) if v >= 1)
        if s.rows is not None:
            verdict = "ok" if s.correct else "MISMATCH"
            commit = (
                f"; group commit {s.commit_events_mean:.0f} events in {s.commit_ms_mean:.1f} ms"
                if s.commit_events_mean and s.commit_ms_mean is not None
                else ""
            )
            print(
                f"check {s.label.strip()}: stored {s.rows:,} = acknowledged "
                f"{s.acked_events:,}: {verdict}{commit}; CPU {roles}, "
                + (f"PostgreSQL {s.db_cpu_pct:.0f}%, " if s.database == "postgres" else "")
                + f"other processes {s.other_cpu_pct:.0f}%"
            )
    for s in run.scenarios:
        if s.error:
            print(f"ERROR {s.label.strip()}: {s.error}")
        if s.non_200 or s.socket_errors:
            print(f"note  {s.label.strip()}: {s.non_200} non-200, {s.socket_errors} socket errors")
        for note in s.notes:
            print(f"note  {s.label.strip()}: {note}")
    goals = evaluate(run.scenarios, run.raw, run.copy, run.writer)
    print("\ngoals (issue 19), each against its baseline from this run:")
    for g in goals:
        print(g.line())
        for why in g.why:
            print(f"      {why}")
    return goals


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def _terminate(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    # Stop every process we started on Ctrl-C, kill or hang-up (also when started from
    # a shell that made SIGINT ignored for background jobs).
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _terminate)
    versions = _versions()
    print(
        f"eventkit ingest benchmark: {args.duration:g} s per scenario (+{args.warmup:g} s "
        f"warm-up), {args.connections} connections, {args.workers} worker(s), "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
    )
    if args.loadgen == "wrk":
        print(f"load generator: wrk, {args.wrk_threads} thread(s), {LUA.relative_to(ROOT)}")
    else:
        print(
            "load generator: Python fallback (wrk not found; apt-get install wrk): "
            f"{args.client_procs} processes; it competes with the server for CPU"
        )
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    tmp = Path(tempfile.mkdtemp(prefix="ekbench-"))
    run = Run(args, tmp)
    try:
        run.sqlite_section()
        run.history_section()
        run.postgres_section()
    except KeyboardInterrupt:
        print("\ninterrupted: stopping servers", file=sys.stderr)
        return 130
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    goals = report(run)
    if args.json:
        doc = {
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "machine": {"cpus": os.cpu_count(), "loadavg": os.getloadavg()},
            "versions": versions,
            "scenarios": [asdict(s) for s in run.scenarios],
            "raw_sqlite": run.raw,
            "raw_copy": run.copy,
            "writer": asdict(run.writer) if run.writer else None,
            "goals": [asdict(g) for g in goals],
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"results written to {args.json}")
    failed = [s for s in run.scenarios if s.error]
    return 1 if failed or run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
