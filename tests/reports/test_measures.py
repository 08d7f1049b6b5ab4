"""Measures (sum, avg, min, max, median, p90, per user, per paying user) in trends and
funnels against a plain-Python computation over the raw events: from the measure
rollups and from raw events, before and after the rollup job, with late and
duplicate events and after an erasure, on SQLite and PostgreSQL."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from eventkit.aggregation import aggregate
from eventkit.config import Settings
from eventkit.demo import SimulationConfig, simulate
from eventkit.errors import InvalidRequestError
from eventkit.privacy.erasure import delete_user
from eventkit.reports import ReportQuery, ReportsService, parse_filter, parse_step
from eventkit.reports.measures import parse_measure, percentile
from eventkit.reports.query import bucket_start, iso
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from eventkit.timeutil import US_PER_DAY
from tests.reports import oracle
from tests.reports.conftest import END, late_event

DAYS = 14
SINCE = END - DAYS * US_PER_DAY
BUY = "purchase_completed"


def _settings(settings: Settings, rolled: bool) -> Settings:
    agg = settings.aggregation.model_copy(update={
        "settle_seconds": 0.0, "batch_events": 3000,
        "measure_properties": ["amount"] if rolled else [],
    })  # fmt: skip
    return settings.model_copy(update={"aggregation": agg})


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


Expected = dict[tuple[str, str], float | None]


def expected(
    rows: list[oracle.Row], agg: str, *, interval: str, by: str | None = None,
    where: tuple[str, str] | None = None, event: str | None = BUY,
) -> Expected:  # fmt: skip
    iv: Any = interval
    q = ReportQuery(app_id=1, since=SINCE, until=END, interval=iv)
    vals: dict[tuple[int, str], list[float]] = defaultdict(list)
    payers: dict[tuple[int, str], set[str]] = defaultdict(set)
    active: dict[tuple[int, str], set[str]] = defaultdict(set)
    for r in rows:
        if not q.start <= r.ts < q.end:
            continue
        if where is not None and str(r.get(where[0])) != where[1]:
            continue
        key = (bucket_start(r.ts, q.interval), "" if by is None else str(r.get(by) or ""))
        if r.actor:
            active[key].add(r.actor)
        if event is not None and r.name != event:
            continue
        if r.actor:
            payers[key].add(r.actor)
        x = _num(r.props.get("amount"))
        if x is not None:
            vals[key].append(x)
    out: dict[tuple[str, str], float | None] = {}
    for key in set(vals) | set(payers) | set(active):
        v = vals.get(key, [])
        label = (iso(key[0], q.interval), key[1])
        if agg == "sum":
            out[label] = sum(v)
        elif agg == "avg":
            out[label] = statistics.fmean(v) if v else None
        elif agg == "median":
            out[label] = statistics.median(v) if v else None
        elif agg == "p90":
            out[label] = (
                statistics.quantiles(v, n=10, method="inclusive")[-1]
                if len(v) > 1
                else (v[0] if v else None)
            )
        elif agg in ("min", "max"):
            out[label] = (min if agg == "min" else max)(v) if v else None
        elif agg == "per_payer":
            n = len(payers.get(key, ()))
            out[label] = sum(v) / n if n else None
        elif agg == "per_user":
            n = len(active.get(key, ()))
            out[label] = sum(v) / n if n else None
    return out


def check(engine: Engine, settings: Settings) -> None:
    svc = ReportsService(engine, settings)
    rows = oracle.load(engine)
    cases: list[dict[str, Any]] = [
        {"interval": "day"}, {"interval": "week"}, {"interval": "hour"},
        {"interval": "day", "by": "country"}, {"interval": "week", "where": ("platform", "ios")},
    ]  # fmt: skip
    pairs = [(agg, case) for agg in ("sum", "median", "per_payer") for case in cases]
    pairs += [(agg, cases[i % 2 * 3]) for i, agg in enumerate(("avg", "p90", "min", "max",
                                                                "per_user"))]  # fmt: skip
    for agg, case in pairs:
        q = ReportQuery(
            app_id=1, since=SINCE, until=END, interval=case["interval"], by=case.get("by"),
            where=(parse_filter("=".join(case["where"])),) if "where" in case else (),
        )  # fmt: skip
        report = svc.trends(q, event=BUY, measure=f"{agg}:amount")
        want = expected(rows, agg, **case)
        col = f"{agg}_amount"
        for row in report.rows:
            label = (row["bucket"], str(row.get(case.get("by") or "", "")))
            w = want.get(label, 0.0 if agg == "sum" else None)
            if w is None:
                assert row[col] is None, (agg, case, label)
            else:
                assert row[col] == pytest.approx(w, rel=1e-6, abs=1e-6), (agg, case, label)
        if case.get("by") and case["interval"] == "day":  # whole-range figure per value
            whole = {g: w for (_, g), w in expected(rows, agg, interval="month",
                                                     by=case["by"]).items()}  # fmt: skip
            assert report.meta["totals"], agg
            for group, got in report.meta["totals"].items():
                w = whole[group]
                if w is None:
                    assert got is None, (agg, group)
                else:
                    assert got == pytest.approx(w, rel=1e-6, abs=1e-6), (agg, group)
    # funnel: revenue of the purchases at step 3
    fq = ReportQuery(app_id=1, since=SINCE, until=END)
    steps = [parse_step(s) for s in ("signup_completed", "onboarding_completed", BUY)]
    rep = svc.funnel(fq, steps, window_seconds=30 * 86400, measure="sum:amount")
    plain = svc.funnel(fq, steps, window_seconds=30 * 86400)
    assert [r["users"] for r in rep.rows] == [r["users"] for r in plain.rows]
    assert rep.rows[0]["sum_amount"] == 0 and rep.rows[2]["sum_amount"] > 0


@pytest.mark.parametrize("rolled", [True, False], ids=["rollups", "raw"])
def test_measures_match_the_oracle(engine: Engine, settings: Settings, rolled: bool) -> None:
    s = _settings(settings, rolled)
    create_app(engine, "demo")
    simulate(EventStore(engine), 1, SimulationConfig(users=120, days=DAYS, seed=5, end=END,
                                                     checkout=True))  # fmt: skip
    aggregate(engine, s.aggregation, max_batches=3)
    check(engine, s)  # half rolled up, half in the raw tail
    late = [late_event(BUY, END - 5 * US_PER_DAY, "late-buyer"),
            late_event(BUY, END - 9 * US_PER_DAY, "late-buyer")]  # fmt: skip
    late = [e.__class__(**{**{f: getattr(e, f) for f in e.__struct_fields__},
                           "properties": {"amount": 12.5}}) for e in late]  # fmt: skip
    assert EventStore(engine).write(late) == [True, True]
    assert EventStore(engine).write(late) == [False, False]  # duplicates
    aggregate(engine, s.aggregation)
    check(engine, s)
    delete_user(engine, s, 1, "late-buyer", actor="test", wait_seconds=0)
    check(engine, s)


def test_parse_and_percentile() -> None:
    assert parse_measure("count") is None
    spec = parse_measure("p95:duration")
    assert spec is not None and spec.quantile == pytest.approx(0.95)
    with pytest.raises(InvalidRequestError, match="sum:amount"):
        parse_measure("total:amount")
    with pytest.raises(InvalidRequestError):
        parse_measure("sum:")
    data = [1.0, 2.0, 2.0, 7.0, 10.0]
    for q in (0.0, 0.25, 0.5, 0.9, 1.0):
        want = (
            statistics.quantiles(data, n=100, method="inclusive")[int(q * 100) - 1]
            if 0 < q < 1
            else (min(data) if q == 0 else max(data))
        )
        assert percentile([(v, 1) for v in data], q) == pytest.approx(want)
    assert percentile([(2.0, 3), (1.0, 1), (7.0, 1)], 0.5) == 2.0
    assert percentile([], 0.5) is None
