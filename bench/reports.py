"""Reports benchmark: eventkit's report latency beside DuckDB running the equivalent
query over the same raw events, in the same run.

    python bench/reports.py                    # 10M simulated events over 90 days
    python bench/reports.py --events 1000000   # a quicker run

Steps: simulate traffic through EventStore.write into a fresh SQLite file (events/s
printed), run the rollup job over all of it (events/s: it must exceed the write rate,
so the scheduled job keeps up with ingest), export the raw events to CSV and load them
into an in-memory DuckDB, then time each report (best of --repeat warm runs) on both.
Goals: trends and active users over 90 days < 100 ms; funnel and retention over 30
days < 2 s. Every eventkit answer is checked against DuckDB's.
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from eventkit.aggregation import aggregate
from eventkit.config import load_settings
from eventkit.demo import SimulationConfig, simulate
from eventkit.reports import ReportQuery, ReportsService, parse_step
from eventkit.storage.apps import create_app
from eventkit.storage.engine import make_engine
from eventkit.storage.events import EventStore
from eventkit.storage.migrate import upgrade
from eventkit.storage.models import metadata
from eventkit.timeutil import US_PER_DAY

D = US_PER_DAY
FUNNEL = ["signup_completed", "onboarding_completed", "purchase_completed"]
WINDOW = 7 * D
ROLLUPS = (
    "rollup_counts",
    "rollup_user_days",
    "rollup_events_by_name",
    "rollup_first_days",
    "aggregation_state",
)


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Best wall time in ms over ``repeat`` runs, and the last result."""
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1000)
    return min(times), out


def export(db: Path, csv_path: Path) -> int:
    con = sqlite3.connect(db)
    cur = con.execute(
        "SELECT id, ts, COALESCE(user_id, anonymous_id), name, platform, "
        "json_extract(properties, '$.screen_name') FROM events"
    )
    n = 0
    with csv_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "ts", "actor", "name", "platform", "screen_name"])
        while rows := cur.fetchmany(100_000):
            w.writerows(rows)
            n += len(rows)
    con.close()
    return n


def duck_queries(s90: int, s30: int, end: int) -> dict[str, str]:
    day = f"(ts - ts % {D})"
    return {
        "trends count/day 90d": f"SELECT {day} b, COUNT(*) FROM ev WHERE ts >= {s90} "
        f"AND ts < {end} GROUP BY b",
        "trends users/day 90d": f"SELECT {day} b, COUNT(DISTINCT actor) FROM ev "
        f"WHERE ts >= {s90} AND ts < {end} GROUP BY b",
        "unique users in 90d": f"SELECT (SELECT COUNT(*) FROM (SELECT {day} b, "
        f"COUNT(DISTINCT actor) FROM ev WHERE ts >= {s90} AND ts < {end} GROUP BY b)), "
        f"(SELECT COUNT(DISTINCT actor) FROM ev WHERE ts >= {s90} AND ts < {end})",
        "active DAU+WAU+MAU 90d": f"SELECT (SELECT COUNT(*) FROM (SELECT {day} b, "
        f"COUNT(DISTINCT actor) FROM ev WHERE ts >= {s90} AND ts < {end} GROUP BY b)), "
        f"(SELECT COUNT(DISTINCT actor) FROM ev WHERE ts >= {end - 7 * D} AND ts < {end}), "
        f"(SELECT COUNT(DISTINCT actor) FROM ev WHERE ts >= {end - 30 * D} AND ts < {end})",
        "top events 90d": f"SELECT name, COUNT(*), COUNT(DISTINCT actor) FROM ev "
        f"WHERE ts >= {s90} AND ts < {end} GROUP BY name ORDER BY 2 DESC LIMIT 20",
        "funnel 3 steps 30d": f"""
            WITH s1 AS (SELECT actor, MIN(ts) t1 FROM ev WHERE name = '{FUNNEL[0]}'
                        AND ts >= {s30} AND ts < {end} GROUP BY actor),
            s2 AS (SELECT s1.actor, t1, MIN(ev.ts) t2 FROM s1 JOIN ev ON ev.actor = s1.actor
                   AND ev.name = '{FUNNEL[1]}' AND ev.ts > t1 AND ev.ts <= t1 + {WINDOW}
                   GROUP BY s1.actor, t1),
            s3 AS (SELECT s2.actor FROM s2 JOIN ev ON ev.actor = s2.actor
                   AND ev.name = '{FUNNEL[2]}' AND ev.ts > t2 AND ev.ts <= t1 + {WINDOW}
                   GROUP BY s2.actor)
            SELECT (SELECT COUNT(*) FROM s1), (SELECT COUNT(*) FROM s2),
                   (SELECT COUNT(*) FROM s3)""",
        "retention daily 30d": f"""
            WITH f AS (SELECT actor, MIN({day}) c FROM ev WHERE ts < {end} GROUP BY actor
                       HAVING MIN({day}) >= {s30}),
            a AS (SELECT DISTINCT actor, {day} d FROM ev WHERE ts >= {s30} AND ts < {end})
            SELECT c, (d - c) / {D} n, COUNT(*) FROM f JOIN a USING (actor)
            WHERE (d - c) / {D} < 8 GROUP BY c, n""",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", type=Path, default=None, help="Keep the database here.")
    ap.add_argument(
        "--reuse", action="store_true", help="Reuse the events in --dir (skip simulating)."
    )
    args = ap.parse_args()
    work = args.dir or Path(tempfile.mkdtemp(prefix="ek-bench-reports-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "reports.db"
    reuse = args.reuse and db.exists()
    if not reuse:
        db.unlink(missing_ok=True)
    settings = load_settings(environ={"EVENTKIT_DATABASE_URL": f"sqlite:///{db}"})
    engine = make_engine(settings)
    upgrade(engine)
    if reuse:
        metadata.create_all(engine)  # rollup tables added since the events were written
        with engine.begin() as conn:  # aggregate from scratch with this code
            for table in ROLLUPS:
                conn.exec_driver_sql(f"DELETE FROM {table}")
            app_id, n, hi = conn.exec_driver_sql(
                "SELECT app_id, COUNT(*), MAX(ts) FROM events GROUP BY app_id"
            ).one()
        end = hi - hi % D + D
        print(f"dataset: {n:,} events reused from {db}, {args.days} days")
    else:
        app_id = create_app(engine, "bench").app_id
        end = (time.time_ns() // 1000) // D * D
        cfg = SimulationConfig(users=args.events // 25 + 1, days=args.days, seed=args.seed,
                               end=end, max_events=args.events, batch_size=50_000)  # fmt: skip
        t = time.perf_counter()
        sim = simulate(EventStore(engine), app_id, cfg)
        write_s = time.perf_counter() - t
        print(f"dataset: {sim.stored:,} events, {sim.users:,} users, {args.days} days")
        print(f"EventStore.write (baseline): {sim.stored / write_s:,.0f} events/s", flush=True)
    t = time.perf_counter()
    agg = aggregate(engine, settings.aggregation)
    agg_s = time.perf_counter() - t
    print(f"rollup job:                  {agg.events / agg_s:,.0f} events/s", flush=True)
    t = time.perf_counter()
    csv_path = work / "events.csv"
    export(db, csv_path)
    duck = duckdb.connect()
    duck.execute(f"CREATE TABLE ev AS SELECT * FROM read_csv_auto('{csv_path}')")
    print(f"DuckDB load (not timed below): {time.perf_counter() - t:.1f}s\n")
    s90, s30 = end - 90 * D, end - 30 * D
    svc = ReportsService(engine, settings)
    q90 = ReportQuery(app_id=app_id, since=s90, until=end)
    q30 = ReportQuery(app_id=app_id, since=s30, until=end)
    steps = [parse_step(s) for s in FUNNEL]
    ours: dict[str, Callable[[], Any]] = {
        "trends count/day 90d": lambda: svc.trends(q90),
        "trends users/day 90d": lambda: svc.trends(q90, measure="users", total=False),
        "unique users in 90d": lambda: svc.trends(q90, measure="users"),
        "active DAU+WAU+MAU 90d": lambda: svc.active(q90),
        "top events 90d": lambda: svc.top(q90),
        "funnel 3 steps 30d": lambda: svc.funnel(q30, steps, window_seconds=WINDOW // 10**6),
        "retention daily 30d": lambda: svc.retention(q30, periods=8),
    }
    goals = {
        "trends count/day 90d": 100.0,
        "trends users/day 90d": 100.0,
        "active DAU+WAU+MAU 90d": 100.0,
        "funnel 3 steps 30d": 2000.0,
        "retention daily 30d": 2000.0,
    }
    print(f"{'report':<26}{'eventkit ms':>12}{'DuckDB ms':>11}{'ratio':>8}  goal")
    for name, sql in duck_queries(s90, s30, end).items():
        ms, rep = best(ours[name], args.repeat)
        dms, drows = best(lambda sql=sql: duck.execute(sql).fetchall(), args.repeat)
        goal = goals.get(name)
        verdict = (
            "(no goal)"
            if goal is None
            else f"< {goal:.0f} ms: " + ("met" if ms < goal else "missed")
        )
        print(f"{name:<26}{ms:>12.1f}{dms:>11.1f}{ms / dms:>7.1f}x  {verdict}")
        if name == "funnel 3 steps 30d":
            assert [r["users"] for r in rep.rows] == list(drows[0]), (rep.rows, drows)
        if name == "trends count/day 90d":
            assert sum(r["count"] for r in rep.rows) == sum(c for _, c in drows)
        if name == "unique users in 90d":
            assert rep.meta["total"] == drows[0][1]
        if name == "active DAU+WAU+MAU 90d":
            assert (rep.meta["wau"], rep.meta["mau"]) == drows[0][1:], (rep.meta, drows)
    print(f"\ndatabase: {db} ({db.stat().st_size / 1e9:.2f} GB)")


if __name__ == "__main__":
    main()
