"""Release health benchmark: the release-health job and report beside the rollup job and
the trends report, on the same simulated events in the same run.

    python bench/releases.py                  # 1M simulated events over 30 days
    python bench/releases.py --events 200000  # quicker

The release-health job reads every new event once, like the rollup job; it should fold
at a rate of the same order (the baseline printed beside it). The report over 30 days
reads its per-day table plus the raw tail; printed beside the 30-day trends report.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from eventkit.aggregation import aggregate
from eventkit.config import load_settings
from eventkit.demo import SimulationConfig, simulate
from eventkit.demo.releases import DemoRelease
from eventkit.releases import run_releases
from eventkit.reports import ReportQuery, ReportsService
from eventkit.storage.apps import create_app
from eventkit.storage.engine import make_engine
from eventkit.storage.events import EventStore
from eventkit.storage.migrate import upgrade
from eventkit.timeutil import US_PER_DAY, now_us


def best(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        settings = load_settings(environ={"EVENTKIT_DATABASE_URL": url})
        engine = make_engine(settings)
        upgrade(engine)
        app_id = create_app(engine, "bench").app_id
        end = now_us()
        release = DemoRelease(end)
        cfg = SimulationConfig(
            users=args.events // 25 + 1,
            days=30,
            seed=7,
            end=end,
            max_events=args.events,
            version_hook=release.version,
            issue_hook=release.issues,
        )
        sim = simulate(EventStore(engine), app_id, cfg)
        t = time.perf_counter()
        aggregate(engine, settings.aggregation)
        rollups = time.perf_counter() - t
        t = time.perf_counter()
        run_releases(engine, settings.releases)
        health = time.perf_counter() - t
        n = sim.stored
        print(f"{n:,} events")
        print(
            f"release-health job: {n / health:>10,.0f} events/s   "
            f"(baseline, rollup job: {n / rollups:,.0f} events/s)"
        )
        service = ReportsService(engine, settings)
        q = ReportQuery(app_id=app_id, since=end - 30 * US_PER_DAY, until=end)
        rel = best(lambda: service.releases(q), args.repeat)
        tr = best(lambda: service.trends(q), args.repeat)
        act = best(lambda: service.active(q), args.repeat)
        print(
            f"releases report, 30 days: {rel * 1000:>8.1f} ms   "
            f"(baseline: trends {tr * 1000:.1f} ms, active users {act * 1000:.1f} ms)"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
