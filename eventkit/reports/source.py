"""Where report numbers come from: rollups plus the not-yet-aggregated tail of raw
events (``id`` above the watermark), or raw events alone when a report asks for a
filter or breakdown the rollups do not hold. Either way the answer is exact and
includes every committed event.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from eventkit.aggregation.rollups import JOB
from eventkit.aggregation.sql import ACTOR, bucket, dim_expr
from eventkit.reports.query import Filter, field_sql
from eventkit.timeutil import US_PER_DAY

__all__ = [
    "COHORT_KEY",
    "count_rows",
    "daily_users",
    "fetch_tuples",
    "filter_sql",
    "first_days",
    "raw_rows",
    "step_rows",
    "tail_guard",
    "user_day_rows",
    "watermark_of",
    "window_users",
]


#: The filter key of ``--cohort NAME``: the event's actor is a member of the cohort.
COHORT_KEY = "$cohort"


def filter_sql(dialect: str, f: Filter, param: str) -> str:
    """SQL of one filter (``:{param}`` holds its value; ``:app`` the app id)."""
    if f.key == COHORT_KEY:
        member = (
            f"{ACTOR} IN (SELECT m.actor FROM cohort_members m JOIN cohorts c "
            f"ON c.id = m.cohort_id WHERE c.app_id = :app AND c.name = :{param})"
        )
        return f"NOT ({member})" if f.negate else member
    expr = field_sql(dialect, f.key)
    return f"({expr} IS NULL OR {expr} != :{param})" if f.negate else f"{expr} = :{param}"


def watermark_of(conn: Connection) -> int:
    """The rollup watermark, read in the report's own snapshot."""
    value = conn.execute(
        text("SELECT last_event_id FROM aggregation_state WHERE job = :job"), {"job": JOB}
    ).scalar()
    return int(value or 0)


def fetch_tuples(conn: Connection, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Every row of ``sql`` (``:name`` parameters) as plain tuples, straight from the
    driver's cursor in the connection's transaction: for the reports that read
    hundreds of thousands of rows, SQLAlchemy's row objects cost more than the query.
    Only for integer and text columns (no type conversion happens)."""
    compiled = text(sql).compile(dialect=conn.dialect)
    values = compiled.construct_params(params)
    args: Any = values
    if compiled.positiontup is not None:
        args = tuple(values[name] for name in compiled.positiontup)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(compiled.string, args)
        rows: list[tuple[Any, ...]] = list(cursor.fetchall())
        return rows
    finally:
        cursor.close()


def fetch_positional(conn: Connection, sql: str, args: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Like :func:`fetch_tuples` for statements with many parameters, written with
    ``?`` markers (turned into the driver's own): no SQLAlchemy compile step, which
    costs more than the query for a VALUES list of thousands of parameters."""
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql, tuple(args))
        rows: list[tuple[Any, ...]] = list(cursor.fetchall())
        return rows
    finally:
        cursor.close()


def tail_guard(conn: Connection, column: str) -> str:
    """``column`` written so SQLite cannot use it for an index: the tail query must
    walk the arrival ids above the watermark, not the whole time range."""
    return f"+{column}" if conn.dialect.name == "sqlite" else column


def count_rows(
    conn: Connection,
    *,
    app_id: int,
    period: str,
    start: int,
    end: int,
    name: str | None,
    dim: str,
    value: str | None = None,
    group_name: bool = False,
) -> list[tuple[Any, ...]]:
    """``(bucket, value[, name], count)`` from ``rollup_counts`` plus the tail.

    ``dim = ''`` gives totals; ``value`` keeps one breakdown value (a filter).
    """
    wm = watermark_of(conn)
    g = tail_guard
    params: dict[str, Any] = {"app": app_id, "p": period, "s": start, "e": end, "dim": dim}
    params.update(wm=wm, name=name, v=value)
    rname = " AND name = :name" if name else ""
    tval = "''" if not dim else dim_expr(conn.dialect.name, dim)
    tail_where = (
        f"id > :wm AND {g(conn, 'app_id')} = :app AND {g(conn, 'ts')} >= :s "
        f"AND {g(conn, 'ts')} < :e{rname}"
    )
    sql = (
        f"SELECT bucket, value, name, SUM(count) FROM ("
        f"SELECT bucket, value, name, count FROM rollup_counts WHERE app_id = :app "
        f"AND period = :p AND bucket >= :s AND bucket < :e AND dim = :dim{rname} "
        f"UNION ALL SELECT {bucket('ts', period)}, {tval}, name, 1 FROM events "
        f"WHERE {tail_where}) t"
    )
    if value is not None:
        sql += " WHERE value = :v"
    sql += " GROUP BY bucket, value, name"
    rows = conn.execute(text(sql), params).all()
    out: dict[tuple[Any, ...], int] = {}
    for b, v, n, c in rows:
        key = (int(b), v, n) if group_name else (int(b), v)
        out[key] = out.get(key, 0) + int(c)
    return [(*k, c) for k, c in out.items()]


def user_day_rows(
    conn: Connection, *, app_id: int, start: int, end: int, name: str, select: str, group: str
) -> list[tuple[Any, ...]]:
    """Run ``SELECT {select} FROM (day, actor pairs) GROUP BY {group}`` over
    ``rollup_user_days`` (``name = ''``: any event) plus the tail."""
    g = tail_guard
    tname = " AND name = :name" if name else ""
    sql = (
        f"SELECT {select} FROM ("
        "SELECT day, actor FROM rollup_user_days WHERE app_id = :app AND name = :name "
        "AND day >= :s AND day < :e "
        f"UNION ALL SELECT {bucket('ts', 'd')} AS day, {ACTOR} AS actor FROM events "
        f"WHERE id > :wm AND {g(conn, 'app_id')} = :app AND {g(conn, 'ts')} >= :s "
        f"AND {g(conn, 'ts')} < :e AND {ACTOR} IS NOT NULL{tname}) t"
    )
    if group:
        sql += f" GROUP BY {group}"
    params = {"app": app_id, "s": start, "e": end, "name": name, "wm": watermark_of(conn)}
    return fetch_tuples(conn, sql, params)


def raw_rows(
    conn: Connection,
    *,
    app_id: int,
    start: int,
    end: int,
    names: Sequence[str] | None,
    where: Sequence[Filter],
    extra: Sequence[str] = (),
    order: bool = False,
) -> list[tuple[Any, ...]]:
    """``(ts, actor, name, *extra)`` of raw events in ``[start, end)`` matching the
    filters (``extra`` are filter/breakdown keys, read as text)."""
    d = conn.dialect.name
    cols = ", ".join(["ts", ACTOR, "name", *(f"{field_sql(d, k)}" for k in extra)])
    conds = ["app_id = :app", "ts >= :s", "ts < :e"]
    params: dict[str, Any] = {"app": app_id, "s": start, "e": end}
    if names:
        marks = ", ".join(f":n{i}" for i in range(len(names)))
        conds.append(f"name IN ({marks})")
        params.update({f"n{i}": n for i, n in enumerate(names)})
    for i, f in enumerate(where):
        params[f"f{i}"] = f.value
        conds.append(filter_sql(d, f, f"f{i}"))
    sql = f"SELECT {cols} FROM events WHERE {' AND '.join(conds)}"
    if order:
        sql += f" ORDER BY {ACTOR}, ts, id"
    return [tuple(r) for r in conn.execute(text(sql), params).all()]


def _tail_pairs(conn: Connection, name: str) -> str:
    """SQL of the distinct (day, actor) pairs in the tail that the rollups lack."""
    g = tail_guard
    tname = " AND name = :name" if name else ""
    return (
        f"SELECT DISTINCT {bucket('ts', 'd')} AS day, {ACTOR} AS actor FROM events "
        f"WHERE id > :wm AND {g(conn, 'app_id')} = :app AND {g(conn, 'ts')} >= :s "
        f"AND {g(conn, 'ts')} < :e AND {ACTOR} IS NOT NULL{tname}"
    )


def daily_users(
    conn: Connection, *, app_id: int, start: int, end: int, name: str
) -> dict[int, int]:
    """Distinct users per UTC day (``name = ''``: any event): the stored per-day
    counts plus the tail's users not yet in ``rollup_user_days`` for that day."""
    params = {"app": app_id, "s": start, "e": end, "name": name, "wm": watermark_of(conn)}
    out: dict[int, int] = {}
    for b, c in conn.execute(
        text(
            "SELECT bucket, count FROM rollup_counts WHERE app_id = :app AND period = 'd' "
            "AND bucket >= :s AND bucket < :e AND name = :name AND dim = '$users' AND value = ''"
        ),
        params,
    ):
        out[int(b)] = int(c)
    for day, n in conn.execute(
        text(
            f"SELECT day, COUNT(*) FROM ({_tail_pairs(conn, name)}) t WHERE NOT EXISTS ("
            "SELECT 1 FROM rollup_user_days r WHERE r.app_id = :app AND r.name = :name "
            "AND r.day = t.day AND r.actor = t.actor) GROUP BY day"
        ),
        params,
    ):
        out[int(day)] = out.get(int(day), 0) + int(n)
    return out


def window_users(conn: Connection, *, app_id: int, last_day: int, days: int) -> int:
    """Distinct users (any event) in the ``days`` days ending with ``last_day``: the
    stored WAU/MAU plus tail users absent from the window's user-days; an exact
    ``COUNT(DISTINCT)`` when nothing is stored for that day."""
    start, end = last_day - (days - 1) * US_PER_DAY, last_day + US_PER_DAY
    dim = {7: "$wau", 30: "$mau"}.get(days)
    stored = None
    if dim is not None:
        stored = conn.execute(
            text(
                "SELECT count FROM rollup_counts WHERE app_id = :app AND period = 'd' "
                "AND bucket = :x AND name = '' AND dim = :dim AND value = ''"
            ),
            {"app": app_id, "x": last_day, "dim": dim},
        ).scalar()
    if stored is None:
        rows = user_day_rows(
            conn, app_id=app_id, start=start, end=end, name="",
            select="COUNT(DISTINCT actor)", group="",
        )  # fmt: skip
        return int(rows[0][0])
    in_window = ", ".join(str(start + i * US_PER_DAY) for i in range(days))
    params = {"app": app_id, "s": start, "e": end, "name": "", "wm": watermark_of(conn)}
    extra = conn.execute(
        text(
            f"SELECT COUNT(DISTINCT actor) FROM ({_tail_pairs(conn, '')}) t WHERE NOT EXISTS ("
            "SELECT 1 FROM rollup_user_days r WHERE r.app_id = :app AND r.name = '' "
            f"AND r.day IN ({in_window}) AND r.actor = t.actor)"
        ),
        params,
    ).scalar_one()
    return int(stored) + int(extra)


def step_rows(
    conn: Connection,
    *,
    app_id: int,
    start: int,
    end: int,
    names: Sequence[str],
    where: Sequence[Filter],
    extra: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """``(ts, actor, name, id, *extra)`` of the events named ``names`` in
    ``[start, end)``, sorted by actor, time and arrival: from ``rollup_events_by_name``
    (joined to ``events`` only when filters or ``extra`` need properties) plus the
    tail."""
    d = conn.dialect.name
    marks = ", ".join(f":n{i}" for i in range(len(names)))
    params: dict[str, Any] = {"app": app_id, "s": start, "e": end, "wm": watermark_of(conn)}
    params.update({f"n{i}": n for i, n in enumerate(names)})
    conds = []
    for i, f in enumerate(where):
        params[f"f{i}"] = f.value
        conds.append(filter_sql(d, f, f"f{i}"))
    cols = "".join(f", {field_sql(d, k)}" for k in extra)
    need_events = bool(conds or extra)
    filt = "".join(f" AND {c}" for c in conds)
    join = " JOIN events ON events.id = r.id" if need_events else ""
    g = tail_guard
    sql = (
        f"SELECT r.ts, r.actor, r.name, r.id{cols} FROM rollup_events_by_name r{join} "
        f"WHERE r.app_id = :app AND r.name IN ({marks}) AND r.ts >= :s AND r.ts < :e"
        f"{filt} UNION ALL "
        f"SELECT ts, {ACTOR}, name, id{cols} FROM events WHERE id > :wm "
        f"AND {g(conn, 'app_id')} = :app AND {g(conn, 'ts')} >= :s AND {g(conn, 'ts')} < :e "
        f"AND name IN ({marks}) AND {ACTOR} IS NOT NULL{filt}"
    )
    rows = fetch_tuples(conn, sql, params)
    rows.sort(key=itemgetter(1, 0, 3))
    return rows


def first_days(conn: Connection, *, app_id: int, name: str, start: int, end: int) -> dict[str, int]:
    """``{actor: first day}`` of the actors whose first day doing ``name`` (``''``: any
    event) falls in ``[start, end)``: ``rollup_first_days`` corrected by the tail."""
    params = {"app": app_id, "name": name, "s": start, "e": end, "wm": watermark_of(conn)}
    out: dict[str, int] = dict(
        fetch_tuples(
            conn,
            "SELECT actor, first_day FROM rollup_first_days WHERE app_id = :app "
            "AND name = :name AND first_day >= :s AND first_day < :e",
            params,
        )
    )
    tail: dict[str, int] = {}
    for day, actor in conn.execute(text(_tail_pairs(conn, name)), {**params, "s": 0}):
        tail[str(actor)] = min(int(day), tail.get(str(actor), int(day)))
    actors = list(tail)
    for i in range(0, len(actors), 500):
        chunk = actors[i : i + 500]
        marks = ", ".join(f":a{j}" for j in range(len(chunk)))
        stored: dict[str, int] = dict(
            conn.execute(
                text(
                    "SELECT actor, first_day FROM rollup_first_days WHERE app_id = :app "
                    f"AND name = :name AND actor IN ({marks})"
                ),
                {**params, **{f"a{j}": a for j, a in enumerate(chunk)}},
            ).all()
        )
        for actor in chunk:
            first = min(tail[actor], int(stored.get(actor, tail[actor])))
            if start <= first < end:
                out[actor] = first
            else:
                out.pop(actor, None)
    return out
