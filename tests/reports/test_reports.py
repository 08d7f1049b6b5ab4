"""Every report against an independent computation over the raw events, before the
rollups ran, after, and after late events arrived (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy.engine import Engine

from eventkit.aggregation import aggregate
from eventkit.config import AggregationSettings, Settings
from eventkit.reports import ReportQuery, ReportsService, parse_filter, parse_step
from eventkit.reports.query import bucket_start
from eventkit.timeutil import US_PER_DAY
from tests.reports import oracle
from tests.reports.conftest import DAYS, END

DAY = US_PER_DAY
SINCE = END - DAYS * DAY
FUNNEL = ["signup_completed", "onboarding_completed", "purchase_completed"]


def _q(**kw: object) -> ReportQuery:
    args: dict[str, object] = {"app_id": 1, "since": SINCE, "until": END}
    args.update(kw)
    return ReportQuery(**args)  # type: ignore[arg-type]


def check_all(engine: Engine, settings: Settings) -> None:
    """Every report equals the oracle on the current contents of the database."""
    svc = ReportsService(engine, settings)
    rows = oracle.load(engine)
    q = _q()
    s, e = q.start, q.end
    # trends: counts per day, per event, per hour, by platform, with a filter
    got = {r["bucket"]: r["count"] for r in svc.trends(q).rows}
    want = oracle.count_by_day(rows, s, e)
    assert got == {_iso(d): want.get(d, 0) for d in range(s, e, DAY)}
    got = {r["bucket"]: r["count"] for r in svc.trends(q, event="$screen").rows}
    want = oracle.count_by_day(rows, s, e, "$screen")
    assert got == {_iso(d): want.get(d, 0) for d in range(s, e, DAY)}
    hq = _q(since=END - 2 * DAY, interval="hour")
    hours = [r["count"] for r in svc.trends(hq).rows]
    assert sum(hours) == sum(1 for r in rows if hq.start <= r.ts < hq.end)
    by = svc.trends(_q(by="platform")).rows
    for plat in ("ios", "android"):
        assert sum(r["count"] for r in by if r["platform"] == plat) == sum(
            1 for r in rows if s <= r.ts < e and r.platform == plat
        )
    flt = svc.trends(_q(where=(parse_filter("screen_name=cart"),)), event="$screen")
    assert flt.meta["total"] == sum(
        1
        for r in rows
        if s <= r.ts < e and r.name == "$screen" and r.props.get("screen_name") == "cart"
    )
    flt2 = svc.trends(_q(where=(parse_filter("country=US"), parse_filter("platform!=ios"))))
    assert flt2.meta["total"] == sum(
        1 for r in rows if s <= r.ts < e and r.country == "US" and r.platform != "ios"
    )
    # unique users: per day, per week, over the range, and the previous period
    users = svc.trends(q, measure="users", compare=True)
    want = oracle.users_by(rows, s, e, oracle.day_of)
    assert {r["bucket"]: r["users"] for r in users.rows} == {
        _iso(d): want.get(d, 0) for d in range(s, e, DAY)
    }
    assert users.meta["total"] == oracle.distinct(rows, s, e)
    assert users.meta["previous_total"] == oracle.distinct(rows, s - (e - s), s)
    wq = _q(interval="week")
    weekly = svc.trends(wq, measure="users")
    want = oracle.users_by(rows, wq.start, wq.end, oracle.week_of)
    assert {r["bucket"]: r["users"] for r in weekly.rows} == {
        _iso(w): want.get(w, 0) for w in range(wq.start, wq.end, 7 * DAY)
    }
    # active users
    act = svc.active(q)
    assert act.meta["mau"] == oracle.distinct(rows, e - 30 * DAY, e)
    assert act.meta["wau"] == oracle.distinct(rows, e - 7 * DAY, e)
    assert act.meta["dau"] == oracle.distinct(rows, e - DAY, e)
    for where in ({"platform": "ios"}, {"platform": "android"}):
        flt = tuple(parse_filter(f"{k}={v}") for k, v in where.items())
        act = svc.active(_q(where=flt))
        only = [r for r in rows if all(str(r.get(k)) == v for k, v in where.items())]
        assert act.meta["mau"] == oracle.distinct(only, e - 30 * DAY, e)
        assert act.meta["wau"] == oracle.distinct(only, e - 7 * DAY, e)
        assert act.meta["dau"] == oracle.distinct(only, e - DAY, e)
        want = oracle.users_by(only, s, e, oracle.day_of)
        assert {r["bucket"]: r["dau"] for r in act.rows} == {
            _iso(d): want.get(d, 0) for d in range(s, e, DAY)
        }
    # top lists
    top = {r["event"]: (r["events"], r["users"]) for r in svc.top(q, limit=100).rows}
    for name in {r.name for r in rows if s <= r.ts < e}:
        in_range = [r for r in rows if s <= r.ts < e and r.name == name]
        assert top[name] == (len(in_range), len({r.actor for r in in_range if r.actor}))
    screens = {r["screen"]: r["events"] for r in svc.top(q, kind="screens").rows}
    for screen, n in screens.items():
        assert n == sum(
            1 for r in rows if s <= r.ts < e and r.name == "$screen"
            and r.props.get("screen_name") == screen
        )  # fmt: skip
    countries = {r["country"]: r["events"] for r in svc.top(q, kind="countries").rows}
    assert countries.get("NZ", 0) == sum(1 for r in rows if s <= r.ts < e and r.country == "NZ")
    # funnels
    window = 3 * DAY
    steps = [parse_step(n) for n in FUNNEL]
    rep = svc.funnel(q, steps, window_seconds=window // 1_000_000)
    want_f = oracle.funnel(rows, s, e, [(n, {}) for n in FUNNEL], window)
    assert [(r["users"], r["median_seconds"]) for r in rep.rows] == [
        (n, None if m is None else round(m, 1)) for n, m in want_f
    ]
    fsteps = [parse_step("$screen:screen_name=home"), parse_step("$screen:screen_name=cart")]
    rep = svc.funnel(q, fsteps, window_seconds=3600)
    want_f = oracle.funnel(
        rows, s, e, [("$screen", {"screen_name": "home"}), ("$screen", {"screen_name": "cart"})],
        3600 * 1_000_000,
    )  # fmt: skip
    assert [r["users"] for r in rep.rows] == [n for n, _ in want_f]
    dropped = svc.funnel(q, steps, window_seconds=window // 1_000_000, users_at=(2, "dropped"))
    conv = svc.funnel(q, steps, window_seconds=window // 1_000_000, users_at=(2, "converted"))
    funnel_rep = svc.funnel(q, steps, window_seconds=window // 1_000_000)
    assert len(conv.rows) == funnel_rep.rows[1]["users"]
    assert len(dropped.rows) == funnel_rep.rows[1]["dropped"]
    # retention (daily cohorts, first seen / returning with any event, and A -> B)
    for a, b in ((None, None), ("signup_completed", "$screen")):
        ret = svc.retention(_q(interval="day"), start_event=a, return_event=b, periods=7)
        want_r = oracle.retention(rows, s, e, 7, a, b)
        got_r = {c["cohort"]: [c["users"], *(c[str(n)] for n in range(7) if str(n) in c)]
                 for c in ret.meta["counts"]}  # fmt: skip
        assert got_r == {_iso(c): v[: len(got_r[_iso(c)])] for c, v in want_r.items()}
    # weekly cohorts and periods: a user returning on several days of a week counts once
    wq = _q(interval="week")
    for a, b in ((None, None), ("signup_completed", "$screen")):
        ret = svc.retention(wq, start_event=a, return_event=b, periods=3)
        want_r = oracle.retention(rows, wq.start, wq.end, 3, a, b, week=True)
        got_r = {c["cohort"]: [c["users"], *(c[str(n)] for n in range(3) if str(n) in c)]
                 for c in ret.meta["counts"]}  # fmt: skip
        assert got_r == {_iso(c): v[: len(got_r[_iso(c)])] for c, v in want_r.items()}
        assert any(v[1] for v in got_r.values())
    # retention narrowed by property filters (raw path: rollups carry no properties)
    for where in ({"platform": "ios"}, {"platform": "android"}):
        wq = _q(interval="day", where=tuple(parse_filter(f"{k}={v}") for k, v in where.items()))
        ret = svc.retention(wq, start_event=None, return_event="$screen", periods=7)
        want_r = oracle.retention(rows, s, e, 7, None, "$screen", where)
        got_r = {c["cohort"]: [c["users"], *(c[str(n)] for n in range(7) if str(n) in c)]
                 for c in ret.meta["counts"]}  # fmt: skip
        assert got_r == {_iso(c): v[: len(got_r[_iso(c)])] for c, v in want_r.items()}
        assert got_r


def _iso(day: int) -> str:
    from eventkit.reports.query import iso

    return iso(bucket_start(day, "day"))


def test_reports_match_raw_events(
    sim_engine: Engine, settings: Settings, agg: AggregationSettings,
    add_late: Callable[[], int],
) -> None:  # fmt: skip
    check_all(sim_engine, settings)  # nothing aggregated yet: all from the raw tail
    aggregate(sim_engine, agg)
    check_all(sim_engine, settings)  # all from rollups
    add_late()
    check_all(sim_engine, settings)  # late events in the tail
    result = aggregate(sim_engine, agg)
    assert result.events == 9
    check_all(sim_engine, settings)  # late events folded into old buckets


def test_bad_filter_says_how() -> None:
    from eventkit.errors import InvalidRequestError

    with pytest.raises(InvalidRequestError, match="key=value"):
        parse_filter("platform")
