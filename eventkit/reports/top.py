"""Top lists: events, screens, platforms, app versions, countries."""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.engine import Connection

from eventkit.aggregation.sql import ACTOR
from eventkit.reports.query import Report, ReportQuery
from eventkit.reports.source import count_rows, raw_rows, tail_guard, watermark_of

__all__ = ["TOP_KINDS", "TopKind", "top"]

TopKind = Literal["events", "screens", "platforms", "app_versions", "countries"]
TOP_KINDS: tuple[TopKind, ...] = ("events", "screens", "platforms", "app_versions", "countries")
_DIM = {
    "screens": "prop:screen_name",
    "platforms": "platform",
    "app_versions": "app_version",
    "countries": "country",
}
_KEY = {"screens": "screen_name", "platforms": "platform", "app_versions": "app_version",
        "countries": "country"}  # fmt: skip
_LABEL = {"events": "event", "screens": "screen", "platforms": "platform",
          "app_versions": "app_version", "countries": "country"}  # fmt: skip
SCREEN_EVENT = "$screen"


def _counts(conn: Connection, q: ReportQuery, kind: TopKind, rolled: set[str]) -> Counter[str]:
    name = SCREEN_EVENT if kind == "screens" else None
    if kind == "events" and not q.where:
        rows = count_rows(
            conn, app_id=q.app_id, period="d", start=q.start, end=q.end, name=None, dim="",
            group_name=True,
        )  # fmt: skip
        return Counter(_sum_by(rows, 2))
    if kind != "events" and not q.where and _DIM[kind] in rolled:
        rows = count_rows(
            conn, app_id=q.app_id, period="d", start=q.start, end=q.end, name=name,
            dim=_DIM[kind],
        )  # fmt: skip
        return Counter(_sum_by(rows, 1))
    extra = [] if kind == "events" else [_KEY[kind]]
    raw = raw_rows(
        conn, app_id=q.app_id, start=q.start, end=q.end, names=[name] if name else None,
        where=q.where, extra=extra,
    )  # fmt: skip
    return Counter(str(r[2] if kind == "events" else (r[3] or "")) for r in raw)


def _sum_by(rows: list[tuple[object, ...]], index: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in rows:
        key = str(row[index])
        out[key] = out.get(key, 0) + int(row[-1])  # type: ignore[call-overload]
    return out


def top(
    conn: Connection, q: ReportQuery, *, kind: TopKind = "events", limit: int = 20,
    rolled: set[str], users: bool = True,
) -> Report:  # fmt: skip
    """The ``limit`` most frequent values of ``kind`` in the range, with their share;
    for events also the unique users (from the rollups) unless ``users`` is False (the
    distinct count is most of the cost on a long range)."""
    counts = _counts(conn, q, kind, rolled)
    total = sum(counts.values())
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    per_name: dict[str, int] = {}
    if kind == "events" and not q.where and users:
        per_name = {str(n): int(c) for n, c in _users_by_name(conn, q)}
    label = _LABEL[kind]
    rows = []
    for value, count in ranked:
        row: dict[str, object] = {label: value or "(none)", "events": count}
        if kind == "events" and per_name:
            row["users"] = per_name.get(value, 0)
        row["share_pct"] = round(100.0 * count / total, 1) if total else 0.0
        rows.append(row)
    cols = [label, "events", *(["users"] if kind == "events" and per_name else []), "share_pct"]
    return Report("top", cols, rows, {"kind": kind, "total_events": total})


def _users_by_name(conn: Connection, q: ReportQuery) -> list[tuple[Any, ...]]:
    g = tail_guard
    sql = (
        "SELECT name, COUNT(DISTINCT actor) FROM ("
        "SELECT name, actor FROM rollup_user_days WHERE app_id = :app AND name != '' "
        "AND day >= :s AND day < :e UNION ALL "
        f"SELECT name, {ACTOR} FROM events WHERE id > :wm AND {g(conn, 'app_id')} = :app "
        f"AND {g(conn, 'ts')} >= :s AND {g(conn, 'ts')} < :e AND {ACTOR} IS NOT NULL) t "
        "GROUP BY name"
    )
    params = {"app": q.app_id, "s": q.start, "e": q.end, "wm": watermark_of(conn)}
    return [tuple(r) for r in conn.execute(text(sql), params).all()]
