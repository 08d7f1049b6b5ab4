"""Dashboard benchmark: the server time of each web page beside the same report
computed through the service the CLI calls, in the same run, at 1M and 10M events;
and each page's weight (HTML + CSS + JS).

    python bench/web.py                        # 1M then 10M simulated events, 30 days
    python bench/web.py --events 1000000       # one size
    python bench/web.py --quick                # 200k events, for CI's smoke run
    python bench/web.py --dir /tmp/w --reuse   # keep and reuse the simulated databases

For each size: simulate traffic into a fresh SQLite file, run the rollup and sessions
jobs, then time each page (best of --repeat warm requests through the real Litestar
app, in-process: routing, sign-in check, the report, the template) and the CLI's
service call for the same parameters. Goals: every page < 150 ms at 10M events except
funnels and retention (< 2 s); page weight < 150 KB.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from eventkit.accounts.members import add_member
from eventkit.accounts.signins import start_signin
from eventkit.aggregation import aggregate
from eventkit.api.app import create_app
from eventkit.config import load_settings
from eventkit.demo import SimulationConfig, simulate
from eventkit.flags.store import list_flags
from eventkit.reports import ReportsService
from eventkit.reports.params import ReportParams, run_report
from eventkit.sessions.job import run_sessions_job
from eventkit.sessions.queries import SessionFilter, list_sessions, session_stats
from eventkit.storage.apps import create_app as create_app_row
from eventkit.storage.engine import make_engine
from eventkit.storage.events import EventFilter, EventStore, query_events
from eventkit.storage.migrate import upgrade
from eventkit.timeutil import US_PER_DAY, from_us

STEPS = ["signup_completed", "onboarding_completed", "purchase_completed"]
SLOW = ("funnels", "retention")
STATIC = Path(__file__).parents[1] / "eventkit" / "web" / "static"


def best(fn: Callable[[], Any], repeat: int) -> float:
    """Best wall time in ms over ``repeat`` runs (after one warm-up)."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return min(times)


def build(db: Path, events: int, days: int, reuse: bool) -> tuple[Any, Any, int, int]:
    settings = load_settings(
        environ={
            "EVENTKIT_DATABASE_URL": f"sqlite:///{db}",
            "EVENTKIT_SCHEDULER__ENABLED": "false",
            "EVENTKIT_INGEST__WRITER": "thread",
        }
    )
    fresh = not (reuse and db.exists())
    if fresh:
        db.unlink(missing_ok=True)
        engine = make_engine(settings)
        upgrade(engine)
        app_id = create_app_row(engine, "bench").app_id
        end = (time.time_ns() // 1000) // US_PER_DAY * US_PER_DAY
        cfg = SimulationConfig(
            users=events // 25 + 1, days=days, seed=1, end=end, max_events=events, batch_size=50_000
        )
        t = time.perf_counter()
        sim = simulate(EventStore(engine), app_id, cfg)
        print(f"  simulated {sim.stored:,} events in {time.perf_counter() - t:.0f} s", flush=True)
        aggregate(engine, settings.aggregation)
        run_sessions_job(engine, settings, now=end)
        add_member(engine, "bench", "viewer", None, actor="bench")
    engine = make_engine(settings)
    if not fresh:
        # A database from an older version: migrate it and let the jobs catch up (the
        # sessions job rewrites the per-day statistics of every day the first time).
        upgrade(engine)
        t = time.perf_counter()
        aggregate(engine, settings.aggregation)
        run_sessions_job(engine, settings)
        print(f"  jobs caught up in {time.perf_counter() - t:.1f} s", flush=True)
    with engine.connect() as conn:
        app_id, hi = conn.exec_driver_sql(
            "SELECT app_id, MAX(ts) FROM events GROUP BY app_id"
        ).one()
    return settings, engine, app_id, hi - hi % US_PER_DAY + US_PER_DAY


def run(db: Path, events: int, days: int, repeat: int, reuse: bool) -> list[tuple[Any, ...]]:
    settings, engine, app_id, end = build(db, events, days, reuse)
    since, until = from_us(end - days * US_PER_DAY).isoformat(), from_us(end).isoformat()
    q = f"since={since}&until={until}".replace("+", "%2B")
    svc = ReportsService(engine, settings)
    p = ReportParams(since=since, until=until)

    def report(name: str, **kw: Any) -> Callable[[], Any]:
        params = ReportParams(since=since, until=until, **kw)
        return lambda: run_report(svc, name, app_id, params)

    flt = SessionFilter(app_id=app_id, since=p.query(app_id).since, until=p.query(app_id).until)

    def report_now(name: str, **kw: Any) -> Callable[[], Any]:
        return lambda: run_report(svc, name, app_id, ReportParams(since="30d", **kw))

    def now_flt() -> SessionFilter:
        return SessionFilter(app_id=app_id, since=time.time_ns() // 1000 - 30 * US_PER_DAY)

    cases: dict[str, tuple[str, Callable[[], Any]]] = {
        "overview": (f"overview?{q}", report("overview", limit=8)),
        "trends": (f"trends?{q}&event=%24screen", report("trends", event="$screen")),
        "funnels": (
            f"funnels?{q}&" + "&".join(f"step={s}" for s in STEPS) + "&window=7d",
            report("funnel", steps=STEPS, window="7d"),
        ),
        "retention": (f"retention?{q}", report("retention")),
        "sessions": (
            f"sessions?{q}",
            lambda: (session_stats(engine, flt, by="day"), list_sessions(engine, flt, limit=50)),
        ),
        # The pages' default range (the last 30 days up to now): its first day is cut
        # through, so part of it is read from the sessions table.
        "overview-now": ("overview", report_now("overview", limit=8)),
        "sessions-now": (
            "sessions",
            lambda: (
                session_stats(engine, now_flt(), by="day"),
                list_sessions(engine, now_flt(), limit=50),
            ),
        ),
        "users": ("users", lambda: query_events(engine, EventFilter(app_id=app_id), limit=50)),
        "live": ("live", lambda: query_events(engine, EventFilter(app_id=app_id), limit=50)),
        "flags": ("flags", lambda: list_flags(engine, app_id)),
    }
    assets = sum(len(f.read_bytes()) for f in STATIC.iterdir() if f.suffix in (".css", ".js"))
    token = start_signin(engine, member_id=1, lifetime_seconds=3600)
    rows = []
    with TestClient(app=create_app(settings)) as client:
        client.cookies.set("eventkit_session", token)
        for page, (path, service) in cases.items():
            url = f"/apps/bench/{path}"
            r = client.get(url)
            assert r.status_code == 200, (
                url,
                r.status_code,
                r.text.split('role="alert">')[-1][:300],
            )
            web_ms = best(lambda url=url: client.get(url), repeat)
            svc_ms = best(service, repeat)
            rows.append((events, page, web_ms, svc_ms, len(r.content), len(r.content) + assets))
    engine.dispose()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", default="1000000,10000000", help="Comma-separated sizes.")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="200k events, 2 repeats.")
    ap.add_argument("--dir", type=Path, default=None, help="Keep the databases here.")
    ap.add_argument("--reuse", action="store_true", help="Reuse the databases in --dir.")
    args = ap.parse_args()
    sizes = [200_000] if args.quick else [int(s) for s in args.events.split(",")]
    repeat = 2 if args.quick else args.repeat
    work = args.dir or Path(tempfile.mkdtemp(prefix="ek-bench-web-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"{'events':>11} {'page':<10}{'page ms':>9}{'service ms':>11}{'overhead':>9}"
        f"{'HTML KB':>9}{'weight KB':>10}  goal",
        flush=True,
    )
    for n in sizes:
        print(f"{n:,} events over {args.days} days", flush=True)
        for events, page, web_ms, svc_ms, html, weight in run(
            work / f"web-{n}.db", n, args.days, repeat, args.reuse
        ):
            goal = 2000.0 if page in SLOW else 150.0
            met = web_ms < goal and weight < 150 * 1024
            verdict = f"< {goal:.0f} ms, < 150 KB: " + ("met" if met else "missed")
            if events < 10_000_000:
                verdict += " (goal is for 10M)"
            print(
                f"{events:>11,} {page:<10}{web_ms:>9.1f}{svc_ms:>11.1f}"
                f"{web_ms - svc_ms:>9.1f}{html / 1024:>9.1f}{weight / 1024:>10.1f}  {verdict}",
                flush=True,
            )


if __name__ == "__main__":
    main()
