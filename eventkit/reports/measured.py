"""Trends and funnels with a measure of a numeric property (docs/reports.md#measures);
the values come from :mod:`eventkit.reports.measures`."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from eventkit.aggregation.measures import numeric_expr
from eventkit.aggregation.sql import ACTOR
from eventkit.reports.funnel import FunnelStep, funnel, journeys
from eventkit.reports.measures import MeasureSpec, Values, _summary, values_at
from eventkit.reports.query import Interval, Report, ReportQuery, buckets, field_sql, iso
from eventkit.reports.source import filter_sql
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


def _per_user(spec: MeasureSpec, value: float | None, users: int | None) -> float | None:
    """A per-user measure from the sum and the users, or the value itself."""
    if spec.agg not in ("per_user", "per_payer"):
        return value
    return (value or 0.0) / users if users else None


def _range_total(conn: Connection, q: ReportQuery, event: str | None, spec: MeasureSpec,
                 props: Iterable[str], rolled: set[str], values: Values | None = None,
                 ) -> float | None:  # fmt: skip
    """The measure over the whole range (not a sum of buckets for avg, percentiles
    and per-user measures)."""
    vals = values if values is not None else values_at(conn, q, event, spec, props, rolled)
    value = _summary(spec, [v for vs in vals.values() for v in vs])
    users = None
    if spec.agg in ("per_user", "per_payer"):
        users = _total(conn, q, None if spec.agg == "per_user" else event, "users", rolled)
    return _per_user(spec, value, users)


def _group_users(conn: Connection, q: ReportQuery, event: str | None) -> dict[str, int]:
    """Distinct users per breakdown value over the whole range (of ``event``, or of any
    event), with the query's filters: one pass over the raw events."""
    assert q.by is not None
    d = conn.dialect.name
    by = field_sql(d, q.by)
    conds = ["app_id = :app", "ts >= :s", "ts < :e", f"{ACTOR} IS NOT NULL"]
    params: dict[str, Any] = {"app": q.app_id, "s": q.start, "e": q.end, "name": event}
    if event:
        conds.append("name = :name")
    for i, f in enumerate(q.where):
        params[f"f{i}"] = f.value
        conds.append(filter_sql(d, f, f"f{i}"))
    sql = (
        f"SELECT {by}, COUNT(DISTINCT {ACTOR}) FROM events WHERE {' AND '.join(conds)} "
        f"GROUP BY {by}"
    )
    return {("" if g is None else str(g)): int(n) for g, n in conn.execute(text(sql), params)}


def measure_trends(
    conn: Connection, q: ReportQuery, *, event: str | None, spec: MeasureSpec,
    props: Iterable[str], rolled: set[str], compare: bool = False,
) -> Report:  # fmt: skip
    """The trends report of a measure: one row per bucket (and breakdown value)."""
    props = list(props)
    vals = values_at(conn, q, event, spec, props, rolled)
    users = _users(conn, q, event, spec, rolled) or {}
    keys = set(vals) | set(users)
    data = {k: _per_user(spec, _summary(spec, vals.get(k, [])), users.get(k)) for k in keys}
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
        "total": None if q.by else _round(_range_total(conn, q, event, spec, props, rolled,
                                                        vals)),
    }  # fmt: skip
    if q.by:  # the whole range per breakdown value (not a sum of buckets)
        pooled: dict[str, list[tuple[float, int]]] = defaultdict(list)
        for (_, g), vs in vals.items():
            pooled[g].extend(vs)
        who: dict[str, int] = {}
        if spec.agg in ("per_user", "per_payer"):
            who = _group_users(conn, q, None if spec.agg == "per_user" else event)
        meta["totals"] = {
            g: _round(_per_user(spec, _summary(spec, pooled.get(g, [])), who.get(g)))
            for g in values
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
