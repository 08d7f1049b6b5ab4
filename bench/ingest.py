"""Ingest benchmark: eventkit's capture API against ceilings measured in the same run.

    python bench/ingest.py                 # full run (make bench)
    python bench/ingest.py --quick         # 2 s per scenario, for a CI smoke run

For each ASGI server (granian, uvicorn) and batch size (1, 100 events per request):

(a) ceiling   the same server, worker count and path, serving a Litestar endpoint that
              only decodes the body into eventkit's Envelope/NativeEvent structs
              (bench/ceiling_app.py);
    eventkit  ``python -m eventkit serve`` on a fresh SQLite file (durable group commit,
              dedup on), its write key parsed from the first-start output;
(b) sqlite    raw ``sqlite3`` executemany of the same rows into an index-free copy of
              the ``events`` table, one transaction per ``--txn-rows`` rows.

The load is wrk with bench/wrk/ingest.lua (fresh random UUID v4 per event), or a
multi-process Python client when wrk is missing. After each eventkit run the server is
stopped and the rows in ``events`` must equal the events acknowledged with 200.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LUA = BENCH / "wrk" / "ingest.lua"
HOST = "127.0.0.1"
#: Goals from the issue: eventkit's events/s as a share of the ceiling (a).
GOALS = {1: 0.50, 100: 0.40}
#: Longest wait for in-flight requests after the window (eventkit answers 503 after
#: ingest.commit_timeout_seconds = 30 s).
DRAIN_MAX = 45.0
KEY_RE = re.compile(r"ek_write_[A-Za-z0-9_\-]+")

sys.path.insert(0, str(BENCH))
from loadgen import BodyFactory, run_python_clients  # noqa: E402


class BenchError(Exception):
    """A scenario could not run or gave a wrong result."""


# ------------------------------------------------------------------ processes


@dataclass
class Server:
    """A server process this script started (in its own process group)."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    key: str = ""
    db: Path | None = None


_STARTED: list[subprocess.Popen[bytes]] = []


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_process(proc: subprocess.Popen[bytes], *, graceful: float = 30.0) -> None:
    """SIGINT the leader (graceful shutdown), then SIGKILL what is left of its group.

    Every process passed here was started by this script with ``start_new_session``,
    so its process group holds only its own children.
    """
    pgid = proc.pid
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=graceful)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            proc.wait(timeout=10)
    # Workers of a server that exited without reaping them.
    deadline = time.monotonic() + 5
    while _group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _group_alive(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    if proc in _STARTED:
        _STARTED.remove(proc)


def stop_all() -> None:
    for proc in list(_STARTED):
        with contextlib.suppress(Exception):
            stop_process(proc, graceful=10)


def spawn(cmd: list[str], *, log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    _STARTED.append(proc)
    return proc


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_ready(server: Server, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://{HOST}:{server.port}/healthz"
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise BenchError(
                f"{server.name} exited with {server.proc.returncode}:\n{_tail(server.log)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise BenchError(f"{server.name} not ready after {timeout:.0f} s:\n{_tail(server.log)}")


#: eventkit's ingest.writer setting for the runs (--writer).
WRITER_MODE = "process"
#: Extra EVENTKIT_* settings for the eventkit runs (--set KEY=VALUE).
EXTRA_ENV: dict[str, str] = {}


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTKIT_")}
    env.update(PYTHONUNBUFFERED="1", NO_COLOR="1", COLUMNS="250", TERM="dumb")
    return env


def start_ceiling(server: str, workers: int, workdir: Path) -> Server:
    port = free_port()
    env = _clean_env()
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(BENCH), str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    log = workdir / f"ceiling-{server}-{port}.log"
    cmd = [sys.executable, str(BENCH / "ceiling_app.py"), "--server", server]
    cmd += ["--host", HOST, "--port", str(port), "--workers", str(workers)]
    srv = Server(f"ceiling ({server})", spawn(cmd, log=log, env=env, cwd=workdir), port, log)
    wait_ready(srv)
    return srv


def start_eventkit(server: str, workers: int, workdir: Path) -> Server:
    port = free_port()
    rundir = Path(tempfile.mkdtemp(prefix=f"eventkit-{server}-", dir=workdir))
    db = rundir / "bench.db"
    env = _clean_env()
    env["EVENTKIT_DATABASE_URL"] = f"sqlite:///{db}"
    env["EVENTKIT_LOAD_PLUGINS"] = "0"
    env["EVENTKIT_INGEST__WRITER"] = WRITER_MODE
    env.update(EXTRA_ENV)
    log = rundir / "serve.log"
    cmd = [sys.executable, "-m", "eventkit", "serve", "--host", HOST, "--port", str(port)]
    cmd += ["--server", server, "--workers", str(workers)]
    srv = Server(f"eventkit ({server})", spawn(cmd, log=log, env=env, cwd=rundir), port, log)
    srv.db = db
    wait_ready(srv)
    match = KEY_RE.search(log.read_text(errors="replace"))
    if not match:
        raise BenchError(f"no ek_write_ key in the first-start output:\n{_tail(log)}")
    srv.key = match.group(0)
    return srv


# ------------------------------------------------------------------ measuring


def _proc_tree_cpu(root: int) -> float:
    """CPU seconds (user + system, all threads) of ``root`` and its descendants."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    tree = {root}
    grew = True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return sum(ticks.get(p, 0) for p in tree) / os.sysconf("SC_CLK_TCK")


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


@dataclass
class Scenario:
    """One measured server configuration."""

    kind: str  # "ceiling" or "eventkit"
    server: str
    batch: int
    workers: int
    events_per_s: float = 0.0
    requests_per_s: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    server_cpu_pct: float = 0.0
    loadgen_cpu_pct: float = 0.0
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
        name = "(a) ceiling" if self.kind == "ceiling" else "eventkit"
        return f"{name:<11} {self.server:<8} batch {self.batch:<3}"


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


def measure(args: argparse.Namespace, kind: str, server: str, batch: int, tmp: Path) -> Scenario:
    sc = Scenario(kind, server, batch, args.workers)
    srv: Server | None = None
    acked = accepted = dups = 0
    drained = True
    try:
        srv = (start_ceiling if kind == "ceiling" else start_eventkit)(server, args.workers, tmp)
        # Warm-up (imports, key cache, page cache): not timed, but its rows count.
        warm = run_load(args, srv.port, srv.key or "bench", batch, args.warmup, tmp)
        if warm["ok"] == 0:
            raise BenchError(f"no request succeeded during warm-up: {warm['first_errors']}")
        acked += warm["acked_events"]
        accepted += warm["accepted"]
        dups += warm["duplicates"]
        drained &= warm["all_drained"]
        cpu0, gen0, t0 = _proc_tree_cpu(srv.proc.pid), _children_cpu(), time.monotonic()
        res = run_load(args, srv.port, srv.key or "bench", batch, args.duration, tmp)
        wall = time.monotonic() - t0
        sc.server_cpu_pct = 100 * (_proc_tree_cpu(srv.proc.pid) - cpu0) / wall
        sc.loadgen_cpu_pct = 100 * (_children_cpu() - gen0) / wall
        acked += res["acked_events"]
        accepted += res["accepted"]
        dups += res["duplicates"]
        drained &= res["all_drained"]
        sc.events_per_s = res["acked_in_window"] / args.duration
        sc.requests_per_s = res["ok_in_window"] / args.duration
        sc.p50_ms = res["latency_us"]["p50"] / 1000
        sc.p99_ms = res["latency_us"]["p99"] / 1000
        sc.non_200 = warm["not_ok"] + res["not_ok"]
        sc.socket_errors = sum(v for k, v in res["socket_errors"].items() if k != "status") + sum(
            v for k, v in warm["socket_errors"].items() if k != "status"
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
    if kind == "eventkit" and srv is not None and srv.db is not None and not sc.error:
        with contextlib.closing(sqlite3.connect(srv.db)) as conn:
            sc.rows = int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
        sc.correct = sc.rows == acked
        if not sc.correct:
            why = "" if drained else " (some in-flight requests never got an answer)"
            sc.error = f"rows in events = {sc.rows}, events acknowledged with 200 = {acked}{why}"
        if dups:
            sc.notes.append(f"{dups} events answered as duplicates: event ids collided")
        if accepted != acked:
            sc.notes.append(f"accepted counts in the answers sum to {accepted}, not {acked}")
        shutil.rmtree(srv.db.parent, ignore_errors=True)
    return sc


# ------------------------------------------------------------------ (b) raw sqlite

_RAW_COLUMNS = (
    "app_id", "event_id", "name", "timestamp", "sent_at", "received_at", "ts", "user_id",
    "anonymous_id", "session_id", "platform", "app_version", "country", "ip", "source",
    "properties", "context",
)  # fmt: skip


def _raw_rows(n: int) -> list[tuple[Any, ...]]:
    """``n`` rows of the ``events`` table as eventkit stores SDK-like events: 16-byte
    UUID blob, epoch-microsecond integers, JSON text for properties and context."""
    import uuid

    import msgspec

    factory = BodyFactory(seed=7)
    decode_any = msgspec.json.Decoder().decode
    encode = msgspec.json.encode

    def us(text: str) -> int:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1_000_000)

    rows: list[tuple[Any, ...]] = []
    while len(rows) < n:
        env = decode_any(factory.body(100))
        received = time.time_ns() // 1000
        sent = us(env["sent_at"])
        for ev in env["events"]:
            ts = us(ev["timestamp"])
            ctx = ev.get("context", {})
            rows.append(
                (
                    1,
                    uuid.UUID(ev["event_id"]).bytes,
                    ev["name"],
                    ts,
                    sent,
                    received,
                    received + (ts - sent),
                    ev.get("user_id"),
                    ev.get("anonymous_id"),
                    ev.get("session_id"),
                    str(ctx.get("os", {}).get("name", "")).lower() or None,
                    ctx.get("app", {}).get("version"),
                    None,
                    "127.0.0.0",
                    "native",
                    encode(ev.get("properties", {})).decode(),
                    encode(ctx).decode(),
                )
            )
    return rows


def sqlite_baseline(duration: float, txn_rows: int, tmp: Path) -> dict[str, Any]:
    """Rows/s of plain executemany into an index-free ``events`` table, same rows,
    same pragmas as eventkit's engine, one ``BEGIN IMMEDIATE ... COMMIT`` per txn."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect
    from sqlalchemy.schema import CreateTable

    from eventkit.config import Settings
    from eventkit.storage.models import Event

    # Built here from the public table model rather than eventkit's private row code, so
    # the baseline does not move when eventkit's write path changes.
    pool = _raw_rows(max(20_000, txn_rows))
    columns = [c.name for c in Event.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]
    if columns != list(_RAW_COLUMNS):
        raise BenchError(f"events columns changed: {columns}; update _RAW_COLUMNS in {__file__}")
    insert = f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
    try:
        from eventkit.storage.engine import _sqlite_pragmas

        pragmas = _sqlite_pragmas(Settings())
    except ImportError:
        pragmas = [
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA cache_size=-262144",
            "PRAGMA mmap_size=268435456",
            "PRAGMA temp_store=MEMORY",
            "PRAGMA wal_autocheckpoint=10000",
        ]
    db = tmp / "raw-sqlite.db"
    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    try:
        for pragma in pragmas:
            conn.execute(pragma)
        # CREATE TABLE only: no CREATE INDEX (ix_events_app_ts) and no event_keys.
        conn.execute(str(CreateTable(Event.__table__).compile(dialect=sqlite_dialect.dialect())))  # type: ignore[attr-defined]
        rows = commits = 0
        pos = 0
        started = time.perf_counter()
        end = started + duration
        while time.perf_counter() < end:
            chunk = pool[pos : pos + txn_rows]
            pos = (pos + txn_rows) % (len(pool) - txn_rows + 1)
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(insert, chunk)
            conn.execute("COMMIT")
            rows += len(chunk)
            commits += 1
        elapsed = time.perf_counter() - started
        stored = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                Path(f"{db}{suffix}").unlink()
    if stored != rows:
        raise BenchError(f"raw sqlite: {stored} rows stored, {rows} inserted")
    return {
        "rows_per_s": rows / elapsed,
        "txn_rows": txn_rows,
        "commits": commits,
        "ms_per_commit": 1000 * elapsed / commits,
        "synchronous": next(
            (p.split("=")[1].lower() for p in pragmas if "synchronous" in p), "default"
        ),
    }


# ------------------------------------------------------------------ report


def _fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def report(
    args: argparse.Namespace, scenarios: list[Scenario], raw: dict[str, Any] | None
) -> list[dict[str, Any]]:
    by_key = {(s.kind, s.server, s.batch): s for s in scenarios}
    ratios: list[dict[str, Any]] = []
    print()
    head = (
        f"{'scenario':<32} {'events/s':>10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'srv CPU':>8} {'gen CPU':>8}  {'vs (a) [goal]':<20} {'vs (b)':>7}"
    )
    print(head)
    print("-" * len(head))
    for s in scenarios:
        if s.error and not s.events_per_s:
            print(f"{s.label:<32} FAILED: {s.error.splitlines()[0][:90]}")
            continue
        vs_a = vs_b = ""
        if s.kind == "eventkit":
            ceil = by_key.get(("ceiling", s.server, s.batch))
            goal = GOALS.get(s.batch)
            r: dict[str, Any] = {"server": s.server, "batch": s.batch}
            if ceil is not None and ceil.events_per_s:
                ratio = s.events_per_s / ceil.events_per_s
                r["vs_ceiling"] = ratio
                vs_a = f"{100 * ratio:5.1f}%"
                if goal is not None:
                    met = ratio >= goal
                    r["goal"] = goal
                    r["goal_met"] = met
                    vs_a += f" [>={100 * goal:.0f}% {'ok' if met else 'MISS'}]"
            if raw:
                r["vs_raw_sqlite"] = s.events_per_s / raw["rows_per_s"]
                vs_b = f"{100 * r['vs_raw_sqlite']:5.1f}%"
            ratios.append(r)
        print(
            f"{s.label:<32} {_fmt_rate(s.events_per_s):>10} {_fmt_rate(s.requests_per_s):>9} "
            f"{s.p50_ms:>8.2f} {s.p99_ms:>8.2f} {s.server_cpu_pct:>7.0f}% "
            f"{s.loadgen_cpu_pct:>7.0f}%  {vs_a:<20} {vs_b:>7}"
        )
    if raw:
        print(
            f"{'(b) raw sqlite3 executemany':<32} {_fmt_rate(raw['rows_per_s']):>10} "
            f"{'':>9} {'':>8} {'':>8}   rows/s, {raw['txn_rows']} rows/txn, "
            f"{raw['ms_per_commit']:.1f} ms/commit, synchronous={raw['synchronous'].upper()}"
        )
    print()
    for s in scenarios:
        if s.kind != "eventkit":
            continue
        if s.rows is not None:
            verdict = "ok" if s.correct else "MISMATCH"
            commit = (
                f"; group commit: {s.commit_events_mean:.0f} events, {s.commit_ms_mean:.1f} ms"
                " on average"
                if s.commit_events_mean
                else ""
            )
            print(
                f"check {s.label.strip()}: rows in events {s.rows:,} = acknowledged "
                f"{s.acked_events:,}: {verdict}{commit}"
            )
    for s in scenarios:
        if s.error:
            print(f"ERROR {s.label.strip()}: {s.error}")
        if s.non_200 or s.socket_errors:
            print(
                f"note  {s.label.strip()}: {s.non_200} non-200 answers, "
                f"{s.socket_errors} socket errors"
            )
        for note in s.notes:
            print(f"note  {s.label.strip()}: {note}")
    return ratios


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    for dist in ("eventkit", "granian", "uvicorn", "litestar", "msgspec"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "-"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="eventkit ingest benchmark (see bench/README.md)",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per scenario")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--servers", default="granian,uvicorn", help="ASGI servers")
    parser.add_argument("--batches", default="1,100", help="events per request")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument("--quick", action="store_true", help="2 s per scenario (CI smoke run)")
    parser.add_argument("--json", type=Path, help="write the results to this file")
    parser.add_argument("--warmup", type=float, default=None, help="warm-up seconds (untimed)")
    parser.add_argument("--txn-rows", type=int, default=1000, help="rows per (b) transaction")
    parser.add_argument(
        "--loadgen", choices=["auto", "wrk", "python"], default="auto",
        help="wrk (preferred) or the multi-process Python client",
    )  # fmt: skip
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--client-procs", type=int, default=2, help="Python client processes")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the raw sqlite (b) run")
    parser.add_argument(
        "--writer",
        choices=["process", "thread"],
        default="process",
        help="eventkit's ingest.writer: the writer process (default) or a writer thread",
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="ENV=VALUE",
        help="extra setting for eventkit, e.g. --set EVENTKIT_SERVER__GIL_SWITCH_INTERVAL_US=5000",
    )
    args = parser.parse_args(argv)
    global WRITER_MODE
    WRITER_MODE = args.writer
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("EVENTKIT_"):
            parser.error(f"--set wants EVENTKIT_NAME=VALUE, got {item!r}")
        EXTRA_ENV[key] = value
    if args.quick:
        args.duration = 2.0
    if args.warmup is None:
        args.warmup = 1.0 if args.quick else 2.0
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    batches = [int(b) for b in args.batches.split(",") if b.strip()]
    for s in servers:
        if s not in ("granian", "uvicorn"):
            parser.error(f"unknown server {s!r}: use granian and/or uvicorn")
    if args.loadgen == "auto":
        args.loadgen = "wrk" if shutil.which("wrk") else "python"

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
            f"{args.client_procs} processes; it competes with the server for CPU, "
            "so absolute numbers are low"
        )
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    scenarios: list[Scenario] = []
    raw: dict[str, Any] | None = None
    tmp = Path(tempfile.mkdtemp(prefix="ekbench-"))
    interrupted = False
    failed_raw = ""
    try:
        for server in servers:
            for batch in batches:
                # Ceiling and eventkit back to back, so their ratio sees the same machine.
                for kind in ("ceiling", "eventkit"):
                    sc = measure(args, kind, server, batch, tmp)
                    scenarios.append(sc)
                    status = "FAILED" if sc.error else f"{sc.events_per_s:,.0f} events/s"
                    print(f"  {sc.label}: {status}", flush=True)
        if not args.no_sqlite:
            try:
                raw = sqlite_baseline(args.duration, args.txn_rows, tmp)
                print(f"  (b) raw sqlite3: {raw['rows_per_s']:,.0f} rows/s", flush=True)
            except BenchError as exc:
                failed_raw = str(exc)
                print(f"  (b) raw sqlite3: FAILED: {exc}", flush=True)
    except KeyboardInterrupt:
        interrupted = True
        print("\ninterrupted: stopping servers", file=sys.stderr)
    finally:
        stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    if interrupted:
        return 130
    ratios = report(args, scenarios, raw)
    if args.json:
        doc = {
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "machine": {"cpus": os.cpu_count(), "loadavg": os.getloadavg()},
            "versions": versions,
            "scenarios": [asdict(s) for s in scenarios],
            "raw_sqlite": raw,
            "ratios": ratios,
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"results written to {args.json}")
    failed = [s for s in scenarios if s.error]
    return 1 if failed or failed_raw else 0


if __name__ == "__main__":
    sys.exit(main())
