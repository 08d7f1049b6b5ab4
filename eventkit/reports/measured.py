"""Trends and funnels with a measure of a numeric property (docs/reports.md#measures);
the values come from :mod:`eventkit.reports.measures`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from eventkit.aggregation.measures import numeric_expr
from eventkit.reports.funnel import FunnelStep, funnel, journeys
from eventkit.reports.measures import MeasureSpec, _summary, measure_series, values_at
from eventkit.reports.query import Filter, Interval, Report, ReportQuery, buckets, iso
from eventkit.reports.trends import _total, series
from eventkit.timeutil import US_PER_SECOND

__all__ = ["measure_funnel", "measure_trends"]


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 6)


def _users(conn: Connection, q: ReportQuery, event: str | None, spec: MeasureSpec,
           rolled: set[str]) -> dict[tuple[int, str], int] | None:  # fmt: skip
    """The denominators of per-user measures: active users (any event), or the users
    who did ``event`` (the payers), per bucket and group."""
    if spec.agg == "per_user":
        return series(conn, q, None, "users", rolled)
    if spec.agg == "per_payer":
        return series(conn, q, event, "users", rolled)
    return None


def _range_total(conn: Connection, q: ReportQuery, event: str | None, spec: MeasureSpec,
                 props: Iterable[str], rolled: set[str]) -> float | None:  # fmt: skip
    """The measure over the whole range (not a sum of buckets for avg, percentiles
    and per-user measures)."""
    pooled = [v for vals in values_at(conn, q, event, spec, props, rolled).values() for v in vals]
    value = _summary(spec, pooled)
    if spec.agg in ("per_user", "per_payer"):
        who = None if spec.agg == "per_user" else event
        n = _total(conn, q, who, "users", rolled)
        return (value or 0.0) / n if n else None
    return value


def _only(q: ReportQuery, group: str) -> ReportQuery:
    """``q`` for one breakdown value (empty: the events without one)."""
    assert q.by is not None
    f = Filter(q.by, group) if group else Filter(q.by, "", negate=False)
    return replace(q, by=None, where=(*q.where, f))


def measure_trends(
    conn: Connection, q: ReportQuery, *, event: str | None, spec: MeasureSpec,
    props: Iterable[str], rolled: set[str], compare: bool = False,
) -> Report:  # fmt: skip
    """The trends report of a measure: one row per bucket (and breakdown value)."""
    props = list(props)
    data = measure_series(conn, q, event, spec, props, rolled, _users(conn, q, event, spec, rolled))
    interval: Interval = q.interval
    values = sorted({g for _, g in data}) or [""]
    empty = 0.0 if spec.agg == "sum" else None
    rows: list[dict[str, Any]] = []
    for b in buckets(q.start, q.end, interval):
        for g in values:
            row: dict[str, Any] = {"bucket": iso(b, interval)}
            if q.by:
                row[q.by] = g
            row[spec.column] = _round(data.get((b, g), empty))
            rows.append(row)
    meta: dict[str, Any] = {
        "event": event or "(all events)", "measure": f"{spec.agg}:{spec.prop}",
        "interval": interval, "since": iso(q.start, "hour"), "until": iso(q.end, "hour"),
        "total": None if q.by else _round(_range_total(conn, q, event, spec, props, rolled)),
    }  # fmt: skip
    if q.by:  # the whole range per breakdown value (not a sum of buckets)
        meta["totals"] = {
            g: _round(_range_total(conn, _only(q, g), event, spec, props, rolled)) for g in values
        }
    if compare and not q.by:
        span = q.end - q.start
        prev = replace(q, since=q.start - span, until=q.start)
        before = _range_total(conn, prev, event, spec, props, rolled)
        meta["previous_total"] = _round(before)
        now = meta["total"]
        meta["change_pct"] = (
            round(100.0 * (now - before) / before, 1) if before and now is not None else None
        )
    cols = ["bucket", *([q.by] if q.by else []), spec.column]
    return Report("trends", cols, rows, meta)


def _step_values(conn: Connection, ids: list[int], prop: str) -> dict[int, float]:
    out: dict[int, float] = {}
    x = numeric_expr(conn.dialect.name, prop)
    for i in range(0, len(ids), 500):
        stmt = text(f"SELECT id, {x} FROM events WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        )
        for pk, v in conn.execute(stmt, {"ids": ids[i : i + 500]}):
            if v is not None:
                out[int(pk)] = float(v)
    return out


def measure_funnel(
    conn: Connection, q: ReportQuery, steps: list[FunnelStep], *, window_seconds: int,
    spec: MeasureSpec,
) -> Report:  # fmt: skip
    """The funnel report plus, per step, the measure over the step events of the users
    who reached it (``per_user``/``per_payer``: its sum per user reaching the step)."""
    js = journeys(conn, q, steps, window_seconds * US_PER_SECOND)
    report = funnel(conn, q, steps, window_seconds=window_seconds, js=js)
    ids = sorted({i for j in js for i in j.ids})
    value_of = _step_values(conn, ids, spec.prop)
    for row in report.rows:
        k = int(row["step"]) - 1
        reached = [j for j in js if len(j.ids) > k and (not q.by or
                   (j.group or "(none)") == row.get("group"))]  # fmt: skip
        vals = [(value_of[j.ids[k]], 1) for j in reached if j.ids[k] in value_of]
        value = _summary(spec, vals)
        if spec.agg in ("per_user", "per_payer"):
            value = (value or 0.0) / len(reached) if reached else None
        row[spec.column] = _round(value)
    report.columns.append(spec.column)
    report.meta["measure"] = f"{spec.agg}:{spec.prop}"
    return report
