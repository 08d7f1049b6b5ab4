"""The overview report against a straightforward computation over the raw events
(late events included), on SQLite and PostgreSQL; and its sections equal the reports
the CLI prints on their own."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from sqlalchemy.engine import Engine

from eventkit.aggregation import aggregate
from eventkit.config import AggregationSettings, Settings
from eventkit.reports import ReportQuery, ReportsService
from eventkit.reports.overview import overview
from eventkit.sessions.job import run_sessions_job
from eventkit.sessions.queries import SessionFilter, session_stats
from eventkit.timeutil import US_PER_DAY
from tests.reports import oracle
from tests.reports.conftest import END

DAY = US_PER_DAY


def _check(engine: Engine, settings: Settings) -> None:
    svc = ReportsService(engine, settings)
    since, until = END - 10 * DAY, END
    rep = overview(svc, ReportQuery(1, since, until), top=5)
    got = {r["metric"]: r["value"] for r in rep.rows}
    rows = oracle.load(engine)
    s, e = since - since % DAY, until - until % DAY + DAY  # whole days, as every report
    assert got["events"] == sum(1 for r in rows if s <= r.ts < e)
    midnight = (until - 1) - (until - 1) % DAY
    assert got["events_today"] == sum(1 for r in rows if midnight <= r.ts < until)
    assert got["dau"] == len({r.actor for r in rows if e - DAY <= r.ts < e and r.actor})
    assert got["wau"] == len({r.actor for r in rows if e - 7 * DAY <= r.ts < e and r.actor})
    assert got["mau"] == len({r.actor for r in rows if e - 30 * DAY <= r.ts < e and r.actor})
    names = Counter(r.name for r in rows if s <= r.ts < e)
    top = rep.meta["top_events"]["rows"]
    assert [(t["event"], t["events"]) for t in top] == sorted(
        names.items(), key=lambda kv: (-kv[1], kv[0])
    )[:5]
    assert "users" not in top[0]
    platforms = Counter(r.platform or "(none)" for r in rows if s <= r.ts < e)
    assert {p["platform"]: p["events"] for p in rep.meta["platforms"]["rows"]} == dict(
        platforms.most_common(5)
    )
    stats = session_stats(
        engine, SessionFilter(app_id=1, since=until - DAY, until=until), by="total"
    )
    assert rep.meta["sessions"] == (stats[-1] if stats else None)
    assert got["sessions_24h"] == (stats[-1]["sessions"] if stats else 0)
    minute = sum(rep.meta["per_minute"]["counts"])
    assert minute == sum(
        1 for r in rows if until - until % 60_000_000 - 59 * 60_000_000 <= r.ts <= until
    )
    # The sections are the reports themselves.
    day = ReportQuery(1, since, until)
    assert rep.meta["daily"] == svc.trends(day).to_dict()
    assert rep.meta["active"] == svc.active(day).to_dict()
    assert rep.meta["app_versions"] == svc.top(day, kind="app_versions", limit=5).to_dict()


def test_overview_matches_raw_events(
    sim_engine: Engine,
    settings: Settings,
    agg: AggregationSettings,
    add_late: Callable[[], int],
) -> None:
    run_sessions_job(sim_engine, settings, now=END)
    _check(sim_engine, settings)  # all from the raw tail
    aggregate(sim_engine, agg)
    _check(sim_engine, settings)  # from rollups
    add_late()
    _check(sim_engine, settings)  # late events in the tail
    aggregate(sim_engine, agg)
    _check(sim_engine, settings)  # folded into old buckets
