"""Measures of a numeric event property in trends and funnels (docs/reports.md#measures):
``sum``, ``avg``, ``min``, ``max``, ``median``, ``p<N>`` (p90, p95, …) of a property,
and ``per_user`` / ``per_payer`` (its sum divided by the active users, or by the users
who did the event).

Only JSON numbers count. Percentiles interpolate between the closest ranks
(PostgreSQL's ``percentile_cont``; the median is ``p50``). A bucket without a value
shows ``None`` (``0`` for sums). Numbers come from the measure rollups when the
property is in ``aggregation.measure_properties`` and the query fits them (as for
counts: no filter or one equality filter on a rolled-up breakdown; percentiles and
per-user measures only without filter or breakdown, and by day or longer), plus the
unaggregated tail; from the raw events otherwise. Either way the answer is exact.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from eventkit.aggregation.measures import numeric_expr
from eventkit.aggregation.sql import BUILTIN_DIMS, bucket, dim_expr
from eventkit.errors import InvalidRequestError
from eventkit.reports.query import ReportQuery, bucket_start, field_sql
from eventkit.reports.source import filter_sql, tail_guard, watermark_of

__all__ = ["MeasureSpec", "Values", "parse_measure", "percentile", "values_at"]

_AGGS = ("sum", "avg", "min", "max", "median", "per_user", "per_payer")
_PCT = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")
Key = tuple[int, str]


@dataclass(frozen=True)
class MeasureSpec:
    """``agg:prop``, e.g. ``sum:amount``, ``p90:duration``, ``per_payer:amount``."""

    agg: str
    prop: str

    @property
    def column(self) -> str:
        """The report column: ``sum_amount``."""
        return f"{self.agg}_{self.prop}"

    @property
    def quantile(self) -> float | None:
        """The percentile as a fraction (median: 0.5), or None for other aggregates."""
        if self.agg == "median":
            return 0.5
        m = _PCT.match(self.agg)
        return float(m.group(1)) / 100 if m else None


def parse_measure(text: str) -> MeasureSpec | None:
    """``count`` and ``users`` give None (the plain trends); ``agg:prop`` a spec.

    Raises:
        InvalidRequestError: anything else, with the forms that work.
    """
    t = text.strip()
    if t in ("count", "users"):
        return None
    agg, sep, prop = t.partition(":")
    agg, prop = agg.strip().lower(), prop.strip()
    ok = sep and prop and (agg in _AGGS or (_PCT.match(agg) and 0 < float(agg[1:]) < 100))
    if not ok:
        raise InvalidRequestError(
            f"cannot read the measure {text!r}: use count, users, or AGG:PROPERTY with AGG "
            "one of sum, avg, min, max, median, p90 (any p1..p99), per_user, per_payer, "
            "e.g. sum:amount"
        )
    return MeasureSpec(agg, prop)


def percentile(values: Sequence[tuple[float, int]], q: float) -> float | None:
    """The ``q`` quantile (0..1) of values given as ``(value, count)`` pairs, with
    linear interpolation between the closest ranks (``percentile_cont``)."""
    pairs = sorted((v, c) for v, c in values if c > 0)
    n = sum(c for _, c in pairs)
    if n == 0:
        return None
    pos = q * (n - 1)
    rank = math.floor(pos)

    def at(r: int) -> float:
        seen = 0
        for v, c in pairs:
            seen += c
            if r < seen:
                return v
        return pairs[-1][0]

    lo, hi = at(rank), at(min(rank + 1, n - 1))
    return lo + (hi - lo) * (pos - rank)


def _summary(spec: MeasureSpec, values: list[tuple[float, int]]) -> float | None:
    n = sum(c for _, c in values)
    if spec.agg in ("sum", "per_user", "per_payer"):
        return sum(v * c for v, c in values)
    if n == 0:
        return None
    if spec.agg == "avg":
        return sum(v * c for v, c in values) / n
    if spec.agg == "min":
        return min(v for v, c in values if c > 0)
    if spec.agg == "max":
        return max(v for v, c in values if c > 0)
    q = spec.quantile
    assert q is not None
    return percentile(values, q)


def _group(q: ReportQuery) -> str:
    return q.by or ""


def _raw_values(
    conn: Connection, q: ReportQuery, event: str | None, spec: MeasureSpec
) -> dict[Key, list[tuple[float, int]]]:
    """``{(bucket, group): [(value, 1), …]}`` from the raw events in range."""
    d = conn.dialect.name
    x = numeric_expr(d, spec.prop)
    by = field_sql(d, q.by) if q.by else "''"
    conds = ["app_id = :app", "ts >= :s", "ts < :e"]
    params: dict[str, Any] = {"app": q.app_id, "s": q.start, "e": q.end}
    if event:
        conds.append("name = :name")
        params["name"] = event
    for i, f in enumerate(q.where):
        params[f"f{i}"] = f.value
        conds.append(filter_sql(d, f, f"f{i}"))
    sql = f"SELECT ts, {by}, {x} FROM events WHERE {' AND '.join(conds)}"
    out: dict[Key, list[tuple[float, int]]] = defaultdict(list)
    for ts, group, value in conn.execute(text(sql), params):
        if value is None:
            continue
        out[(bucket_start(int(ts), q.interval), "" if group is None else str(group))].append(
            (float(value), 1)
        )
    return out


def _dim(key: str | None) -> str:
    if key is None:
        return ""
    return key if key in BUILTIN_DIMS else f"prop:{key}"


def uses_measure_rollups(q: ReportQuery, spec: MeasureSpec, props: Iterable[str],
                         rolled: set[str]) -> bool:  # fmt: skip
    """Whether the measure rollups can answer (see the module docstring)."""
    if spec.prop not in set(props):
        return False
    if spec.quantile is not None or spec.agg in ("min", "max"):
        return not q.where and q.by is None and q.interval != "hour"
    if q.where:
        f = q.where[0]
        return len(q.where) == 1 and not f.negate and q.by is None and _dim(f.key) in rolled
    return q.by is None or _dim(q.by) in rolled


def _tail(conn: Connection, q: ReportQuery, event: str | None, spec: MeasureSpec,
          dim: str, value: str | None, period: str) -> list[tuple[Any, ...]]:  # fmt: skip
    """(bucket, group, value) of the tail events (above the rollup watermark)."""
    d = conn.dialect.name
    g = tail_guard
    x = numeric_expr(d, spec.prop)
    v = "''" if not dim else dim_expr(d, dim)
    name = " AND name = :name" if event else ""
    sql = (
        f"SELECT {bucket('ts', period)}, {v}, {x} FROM events WHERE id > :wm "
        f"AND {g(conn, 'app_id')} = :app AND {g(conn, 'ts')} >= :s AND {g(conn, 'ts')} < :e"
        f"{name}"
    )
    params = {"wm": watermark_of(conn), "app": q.app_id, "s": q.start, "e": q.end,
              "name": event}  # fmt: skip
    rows = conn.execute(text(sql), params).all()
    return [r for r in rows if r[2] is not None and (value is None or r[1] == value)]


def _rolled_values(
    conn: Connection, q: ReportQuery, event: str | None, spec: MeasureSpec
) -> dict[Key, list[tuple[float, int]]]:
    """Values as (value, count) pairs per bucket, from the rollups plus the tail. Sums
    are carried as one pair ``(total / n, n)``, which sums and averages read exactly."""
    out: dict[Key, list[tuple[float, int]]] = defaultdict(list)
    period = "h" if q.interval == "hour" else "d"
    name = " AND name = :name" if event else ""
    params: dict[str, Any] = {"app": q.app_id, "s": q.start, "e": q.end, "name": event,
                              "prop": spec.prop}  # fmt: skip
    if spec.quantile is not None or spec.agg in ("min", "max"):
        rows = conn.execute(
            text(
                "SELECT day, amount, SUM(count) FROM rollup_measure_values WHERE app_id = :app "
                f"AND prop = :prop AND day >= :s AND day < :e{name} GROUP BY day, amount"
            ),
            params,
        )
        for day, amount, n in rows:
            out[(bucket_start(int(day), q.interval), "")].append((float(amount), int(n)))
        for b, _, v in _tail(conn, q, event, spec, "", None, "d"):
            out[(bucket_start(int(b), q.interval), "")].append((float(v), 1))
        return out
    dim, value = _dim(q.by), None
    if q.where:
        dim, value = _dim(q.where[0].key), q.where[0].value
    params.update(p=period, dim=dim, v=value)
    vfilter = " AND value = :v" if value is not None else ""
    rows = conn.execute(
        text(
            "SELECT bucket, value, SUM(n), SUM(total) FROM rollup_measures WHERE app_id = :app "
            f"AND period = :p AND bucket >= :s AND bucket < :e AND dim = :dim AND prop = :prop"
            f"{name}{vfilter} GROUP BY bucket, value"
        ),
        params,
    )
    for b, v, n, total in rows:
        if int(n):
            key = (bucket_start(int(b), q.interval), str(v) if q.by else "")
            out[key].append((float(total) / int(n), int(n)))
    for b, v, x in _tail(conn, q, event, spec, dim, value, period):
        out[(bucket_start(int(b), q.interval), str(v) if q.by else "")].append((float(x), 1))
    return out


Values = dict[Key, list[tuple[float, int]]]


def values_at(conn: Connection, q: ReportQuery, event: str | None, spec: MeasureSpec,
              props: Iterable[str], rolled: set[str]) -> Values:  # fmt: skip
    """The property's values per bucket and group, from the rollups or raw events."""
    if uses_measure_rollups(q, spec, props, rolled):
        return _rolled_values(conn, q, event, spec)
    return _raw_values(conn, q, event, spec)
