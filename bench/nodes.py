"""Scale-out benchmark: two eventkit nodes against one node, on the same PostgreSQL, in
the same run.

    python bench/nodes.py            # 10 s per scenario (make bench)
    python bench/nodes.py --quick    # 2 s per scenario

Each scenario gets a fresh database on the PostgreSQL server named by
``EVENTKIT_BENCH_POSTGRES_URL`` (or ``EVENTKIT_TEST_POSTGRES_URL``; default
postgresql://postgres@127.0.0.1:5432/postgres) and starts ``eventkit serve`` nodes on it:

  one node   all connections to one node;
  two nodes  the same connections split over two nodes (as behind a load balancer).

The load is bench/loadgen.py's Python client (batches like a mobile SDK's). Printed:
acknowledged events/s of each scenario and the ratio two/one, and the rows stored
must equal the events acknowledged. The load generator runs on the same machine and
competes with the nodes and PostgreSQL for CPU: on a 2-core machine the ratio says how
much headroom a second node finds there, not how a real multi-machine cluster scales.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from harness import HOST, Server, free_port, spawn, stop_process, wait_ready  # noqa: E402
from loadgen import run_python_clients  # noqa: E402

KEY_RE = re.compile(r"ek_write_[A-Za-z0-9_-]+")
ADMIN = (
    os.environ.get("EVENTKIT_BENCH_POSTGRES_URL")
    or os.environ.get("EVENTKIT_TEST_POSTGRES_URL")
    or "postgresql://postgres@127.0.0.1:5432/postgres"
)


def create_database() -> str:
    name = f"ek_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return ADMIN.rsplit("/", 1)[0] + "/" + name


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_node(url: str, workdir: Path, n: int) -> Server:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTKIT_")}
    env.update(
        PYTHONUNBUFFERED="1",
        NO_COLOR="1",
        COLUMNS="250",
        EVENTKIT_DATABASE_URL=url,
        EVENTKIT_LOAD_PLUGINS="0",
        EVENTKIT_SPOOL__DIRECTORY=str(workdir / f"spool{n}"),
    )
    log = workdir / f"node{n}.log"
    cmd = [sys.executable, "-m", "eventkit", "serve", "--host", HOST, "--port", str(port)]
    srv = Server(f"node {n}", spawn(cmd, log=log, env=env, cwd=workdir), port, log)
    wait_ready(srv)
    return srv


def rows(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM events").fetchone()
        return int(row[0]) if row else 0


def scenario(nodes: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url = create_database()
    servers: list[Server] = []
    try:
        servers.append(start_node(url, workdir, 0))
        key_match = KEY_RE.search(servers[0].log.read_text())
        if key_match is None:
            raise SystemExit("no write key in the first node's output")
        key = key_match.group(0)
        for n in range(1, nodes):
            servers.append(start_node(url, workdir, n))
        results: list[dict[str, Any]] = []
        conns = args.connections // nodes

        def load(srv: Server) -> None:
            results.append(
                run_python_clients(
                    HOST, srv.port, key, args.batch, args.seconds, conns, args.processes
                )
            )

        threads = [threading.Thread(target=load, args=(s,)) for s in servers]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        acked = sum(r["acked_in_window"] for r in results)
        acked_all = sum(r["acked_events"] for r in results)
        errors = sum(r["not_ok"] for r in results)
    finally:
        for s in servers:
            stop_process(s.proc)
    stored = rows(url)
    drop_database(url)
    return {
        "nodes": nodes,
        "events_per_s": acked / args.seconds,
        "acked": acked_all,
        "stored": stored,
        "not_ok": errors,
        "elapsed": elapsed,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 s per scenario")
    parser.add_argument("--seconds", type=float, default=10.0, help="load per scenario")
    parser.add_argument("--batch", type=int, default=20, help="events per request")
    parser.add_argument("--connections", type=int, default=32, help="client connections")
    parser.add_argument("--processes", type=int, default=1, help="load processes per node")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds = 2.0
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"eventkit-nodes-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=True)
    print(
        f"PostgreSQL {ADMIN.split('@')[-1]}, batch {args.batch}, {args.connections} "
        f"connections, {args.seconds:g} s per scenario, {os.cpu_count()} CPUs"
    )
    one = scenario(1, args, workdir)
    two = scenario(2, args, workdir)
    for r in (one, two):
        print(
            f"  {r['nodes']} node(s): {r['events_per_s']:>10,.0f} events/s  "
            f"(acknowledged {r['acked']:,}, stored {r['stored']:,}, non-200 {r['not_ok']})"
        )
    print(f"  two nodes / one node: {two['events_per_s'] / max(one['events_per_s'], 1):.2f}x")
    lost = [r for r in (one, two) if r["stored"] < r["acked"]]
    if lost:
        print("ERROR: fewer rows stored than events acknowledged")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
