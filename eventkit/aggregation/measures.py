"""Rollups of numeric properties configured as measures (``aggregation.measure_properties``,
docs/reports.md#measures).

Two tables, maintained by the rollup job in the same transaction as the counts:

- ``rollup_measures``: per app, period (``h``/``d``), bucket, event name, breakdown
  (``dim``/``value`` as in ``rollup_counts``) and property: how many events carried
  a number there (``n``) and their sum (``total``). Sums and averages over any range
  and any rolled-up breakdown add up from these.
- ``rollup_measure_values``: per app, event name, property and UTC day, how many
  events carried each distinct value. Exact medians and percentiles over days merge
  these counts; money amounts repeat (prices), so this stays far smaller than the
  events.

Only JSON numbers count: a string such as ``"9.99"`` is not a measure value.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from eventkit.aggregation.sql import _quote_key, bucket, dim_expr

__all__ = [
    "delete_measure_days",
    "measure_statements",
    "numeric_expr",
    "subtract_measures",
]


def numeric_expr(dialect: str, prop: str, table: str = "") -> str:
    """A top-level property as a number (DOUBLE), NULL unless it is a JSON number."""
    k = _quote_key(prop)
    col = f"{table}.properties" if table else "properties"
    if dialect == "postgresql":
        return (
            f"(CASE WHEN jsonb_typeof({col}->'{k}') = 'number' "
            f"THEN CAST({col}->>'{k}' AS DOUBLE PRECISION) END)"
        )
    return (
        f"(CASE WHEN json_type({col}, '$.\"{k}\"') IN ('integer', 'real') "
        f"THEN CAST(json_extract({col}, '$.\"{k}\"') AS REAL) END)"
    )


def measure_statements(
    dialect: str, dims: Sequence[str], props: Sequence[str], where: str
) -> list[str]:
    """Additive upserts folding the events matching ``where`` into both tables."""
    out: list[str] = []
    for prop in props:
        x = numeric_expr(dialect, prop)
        p = _quote_key(prop)
        for period in ("h", "d"):
            b = bucket("ts", period)
            for dim in ("", *dims):
                v = "''" if not dim else dim_expr(dialect, dim)
                out.append(
                    "INSERT INTO rollup_measures "
                    "(app_id, period, bucket, name, dim, value, prop, n, total) "
                    f"SELECT app_id, '{period}', b, name, '{dim}', v, '{p}', COUNT(*), SUM(x) "
                    f"FROM (SELECT app_id, {b} AS b, name, {v} AS v, {x} AS x FROM events "
                    f"WHERE {where}) t WHERE x IS NOT NULL GROUP BY app_id, b, name, v "
                    "ON CONFLICT (app_id, period, bucket, name, dim, value, prop) DO UPDATE SET "
                    "n = rollup_measures.n + excluded.n, "
                    "total = rollup_measures.total + excluded.total"
                )
        day = bucket("ts", "d")
        out.append(
            "INSERT INTO rollup_measure_values (app_id, name, prop, day, amount, count) "
            f"SELECT app_id, name, '{p}', d, x, COUNT(*) FROM (SELECT app_id, name, "
            f"{day} AS d, {x} AS x FROM events WHERE {where}) t WHERE x IS NOT NULL "
            "GROUP BY app_id, name, d, x ON CONFLICT (app_id, name, prop, day, amount) "
            "DO UPDATE SET count = rollup_measure_values.count + excluded.count"
        )
    return out


def delete_measure_days(conn: Connection, params: dict[str, int]) -> None:
    """Delete one app-day (``:app``, ``:d0``..``:d1``) of both tables (rebuild)."""
    conn.execute(
        text("DELETE FROM rollup_measures WHERE app_id = :app AND bucket >= :d0 AND bucket < :d1"),
        params,
    )
    conn.execute(
        text("DELETE FROM rollup_measure_values WHERE app_id = :app AND day >= :d0 AND day < :d1"),
        params,
    )


def subtract_measures(
    conn: Connection, ids: Sequence[int], dims: Sequence[str], props: Sequence[str]
) -> None:
    """Take the events ``ids`` (rolled up, about to be deleted) out of both tables."""
    if not ids or not props:
        return
    dialect = conn.dialect.name
    for i in range(0, len(ids), 500):
        chunk = list(ids[i : i + 500])
        for prop in props:
            x = numeric_expr(dialect, prop)
            p = _quote_key(prop)
            for period in ("h", "d"):
                b = bucket("ts", period)
                for dim in ("", *dims):
                    v = "''" if not dim else dim_expr(dialect, dim)
                    rows = conn.execute(
                        text(
                            f"SELECT app_id, b, name, v, COUNT(*), SUM(x) FROM (SELECT app_id, "
                            f"{b} AS b, name, {v} AS v, {x} AS x FROM events WHERE id IN :ids) t "
                            "WHERE x IS NOT NULL GROUP BY app_id, b, name, v"
                        ).bindparams(bindparam("ids", expanding=True)),
                        {"ids": chunk},
                    ).all()
                    for app, bk, name, val, n, total in rows:
                        conn.execute(
                            text(
                                "UPDATE rollup_measures SET n = n - :n, total = total - :t "
                                "WHERE app_id = :a AND period = :p AND bucket = :b AND "
                                "name = :name AND dim = :dim AND value = :v AND prop = :prop"
                            ),
                            {"n": n, "t": total, "a": app, "p": period, "b": bk, "name": name,
                             "dim": dim, "v": val, "prop": p},
                        )  # fmt: skip
            day = bucket("ts", "d")
            rows = conn.execute(
                text(
                    f"SELECT app_id, name, d, x, COUNT(*) FROM (SELECT app_id, name, {day} AS d, "
                    f"{x} AS x FROM events WHERE id IN :ids) t WHERE x IS NOT NULL "
                    "GROUP BY app_id, name, d, x"
                ).bindparams(bindparam("ids", expanding=True)),
                {"ids": chunk},
            ).all()
            for app, name, d, amount, n in rows:
                conn.execute(
                    text(
                        "UPDATE rollup_measure_values SET count = count - :n WHERE app_id = :a "
                        "AND name = :name AND prop = :prop AND day = :d AND amount = :x"
                    ),
                    {"n": n, "a": app, "name": name, "prop": p, "d": d, "x": amount},
                )
    conn.execute(text("DELETE FROM rollup_measures WHERE n <= 0"))
    conn.execute(text("DELETE FROM rollup_measure_values WHERE count <= 0"))
