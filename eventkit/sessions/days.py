"""Per-day session statistics: what keeps ``session_stats`` fast and exact at scale.

``session_days`` holds, per app, UTC day of the start, platform and app version, the
session count, the sum of event counts, the bounces, and **every duration, sorted**
(8 bytes a session). Counts add up across days; a median or p90 over several days is
the k-th smallest value of several sorted arrays, found by bisection without merging
them (:func:`kth`). Statistics therefore stay exact, to the microsecond, for any range.

Freshness: triggers on ``sessions`` (migration ``0009_session_days``) mark a day in
``session_days_dirty`` in the same transaction as any change to its sessions — by the
sessions job, erasure, retention or a rebuild. The sessions job rewrites dirty days
after each run (:func:`refresh_session_days`); until then, and for a range that cuts
through a day, statistics read that day's rows from ``sessions`` instead
(:func:`day_parts`). docs/sessions.md, "Statistics at scale".
"""

from __future__ import annotations

import sys
from array import array
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select
from sqlalchemy.engine import Connection, Engine

from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import SESSION_DAYS, SESSION_DAYS_DIRTY, SESSIONS
from eventkit.timeutil import US_PER_DAY, US_PER_HOUR

__all__ = ["Part", "day_parts", "kth", "pack", "raw_parts", "refresh_session_days", "unpack"]

_S = SESSIONS.c
_D = SESSION_DAYS.c
_X = SESSION_DAYS_DIRTY.c
_BIG = sys.byteorder == "big"


@dataclass
class Part:
    """Sessions of one app, day, platform and app version ('' for none)."""

    day: int
    platform: str
    app_version: str
    sessions: int
    events: int
    bounced: int
    first_start: int
    last_start: int
    #: Every duration (µs), ascending.
    durations: Sequence[int]


def pack(durations: Sequence[int]) -> bytes:
    """Sorted durations as little-endian signed 64-bit integers."""
    values = array("q", sorted(durations))
    if _BIG:
        values.byteswap()
    return values.tobytes()


def unpack(blob: bytes) -> array[int]:
    """The inverse of :func:`pack`."""
    values = array("q")
    values.frombytes(blob)
    if _BIG:
        values.byteswap()
    return values


def kth(arrays: Sequence[Sequence[int]], k: int) -> int:
    """The ``k``-th smallest value (1-based) of the union of ascending ``arrays``.

    Bisection over the values: the smallest ``v`` with at least ``k`` values ≤ ``v``
    is always one of the values. About 64 counting passes of one binary search per
    array, whatever the arrays' lengths.
    """
    arrays = [a for a in arrays if len(a)]
    if len(arrays) == 1:
        return int(arrays[0][k - 1])
    lo = min(a[0] for a in arrays)
    hi = max(a[-1] for a in arrays)
    while lo < hi:
        mid = (lo + hi) // 2
        if sum(bisect_right(a, mid) for a in arrays) >= k:
            hi = mid
        else:
            lo = mid + 1
    return int(lo)


def raw_parts(conn: Connection, conds: Sequence[ColumnElement[bool]]) -> list[Part]:
    """Parts of the sessions matching ``conds``, read from ``sessions``: grouped by
    day, platform and version and sorted by duration in the database."""
    return [_part(day, p, v, rows) for day, p, v, rows in _grouped(conn, conds)]


def _grouped(
    conn: Connection, conds: Sequence[ColumnElement[bool]]
) -> list[tuple[int, str, str, list[Any]]]:
    """``(day, platform, version, rows)`` of the sessions matching ``conds``; each row
    is ``(day, platform, version, duration, event_count, bounced, started_at)``, in
    duration order within its group."""
    day = _S.started_at - _S.started_at % US_PER_DAY
    plat = func.coalesce(_S.platform, "")
    version = func.coalesce(_S.app_version, "")
    stmt = (
        select(day, plat, version, _S.duration_us, _S.event_count, _S.bounced, _S.started_at)
        .where(*conds)
        .order_by(day, plat, version, _S.duration_us)
    )
    return [
        (int(d), str(p), str(v), list(rows))
        for (d, p, v), rows in groupby(conn.execute(stmt).all(), key=itemgetter(0, 1, 2))
    ]


def _conds(app_id: int, lo: int, hi: int, platform: str | None) -> list[ColumnElement[bool]]:
    conds = [_S.app_id == app_id, _S.started_at >= lo, _S.started_at < hi]
    if platform:
        conds.append(_S.platform == platform)
    return conds


def _part(day: int, platform: str, version: str, rows: Sequence[Any]) -> Part:
    _, _, _, durations, events, bounced, starts = zip(*rows, strict=True)
    return Part(
        day,
        platform,
        version,
        len(durations),
        sum(events),
        sum(1 for b in bounced if b),
        min(starts),
        max(starts),
        durations,
    )


def _usable(p: Part, since: int | None, until: int | None) -> bool:
    """Whether the range holds every session of the row."""
    return (since is None or p.first_start >= since) and (until is None or p.last_start < until)


def _rows(conn: Connection, stmt: Any) -> dict[int, list[Part]]:
    """``session_days`` rows by day (whole-day rows) or hour (hour rows)."""
    out: dict[int, list[Part]] = {}
    for r in conn.execute(stmt):
        _app, day, hour, plat, version, sessions, events, bounced, first, last, blob = r
        out.setdefault(day if hour < 0 else hour, []).append(
            Part(day, plat, version, sessions, events, bounced, first, last, blob)
        )
    return out


def _take(rows: list[Part]) -> list[Part]:
    for p in rows:
        p.durations = unpack(p.durations)  # type: ignore[arg-type]
    return rows


def day_parts(
    conn: Connection,
    app_id: int,
    since: int | None,
    until: int | None,
    platform: str | None = None,
) -> list[Part]:
    """The sessions of ``app_id`` started in ``since ≤ t < until`` (and on
    ``platform``), as parts: ``session_days`` rows where they hold exactly those
    sessions — a day's row, or for a day the range cuts through its hour rows — and
    rows read from ``sessions`` for the rest (dirty days, and the hours the range cuts
    through). Read in one transaction (a snapshot on both databases)."""
    first_day = None if since is None else since - since % US_PER_DAY
    dirty_q = select(_X.day).where(_X.app_id == app_id)
    rows_q = select(SESSION_DAYS).where(_D.app_id == app_id, _D.hour == -1)
    if first_day is not None:
        dirty_q = dirty_q.where(_X.day >= first_day)
        rows_q = rows_q.where(_D.day >= first_day)
    if until is not None:
        dirty_q = dirty_q.where(_X.day < until)
        rows_q = rows_q.where(_D.day < until)
    if platform:
        rows_q = rows_q.where(_D.platform == platform)
    dirty = set(conn.execute(dirty_q).scalars())
    parts: list[Part] = []
    raw: list[tuple[int, int]] = [
        (day if since is None else max(day, since), day + US_PER_DAY) for day in dirty
    ]
    for day, rows in _rows(conn, rows_q).items():
        if day in dirty:
            continue
        if all(_usable(p, since, until) for p in rows):
            parts += _take(rows)
            continue
        # The range cuts through this day: its hour rows, and sessions for the hours
        # the range cuts through.
        hours_q = select(SESSION_DAYS).where(_D.app_id == app_id, _D.day == day, _D.hour >= 0)
        if platform:
            hours_q = hours_q.where(_D.platform == platform)
        for hour, hour_rows in _rows(conn, hours_q).items():
            if all(_usable(p, since, until) for p in hour_rows):
                parts += _take(hour_rows)
            else:
                start = day + hour * US_PER_HOUR
                raw.append((start if since is None else max(start, since), start + US_PER_HOUR))
    for lo, hi in sorted(raw):
        end = hi if until is None else min(hi, until)
        if lo < end:
            parts += raw_parts(conn, _conds(app_id, lo, end, platform))
    return parts


def _stored_rows(app_id: int, groups: list[tuple[int, str, str, list[Any]]]) -> list[Any]:
    """The ``session_days`` rows of one day: one for the whole day and one per hour
    with sessions, per platform and app version."""
    out = []
    for day, plat, version, rows in groups:
        hours: dict[int, list[Any]] = {}
        for row in rows:  # in duration order, so each hour's list stays sorted
            hours.setdefault((row[6] - day) // US_PER_HOUR, []).append(row)
        for hour, part in [(-1, _part(day, plat, version, rows))] + [
            (h, _part(day, plat, version, hr)) for h, hr in sorted(hours.items())
        ]:
            out.append(
                {
                    "app_id": app_id,
                    "day": day,
                    "hour": hour,
                    "platform": plat,
                    "app_version": version,
                    "sessions": part.sessions,
                    "events": part.events,
                    "bounced": part.bounced,
                    "first_start": part.first_start,
                    "last_start": part.last_start,
                    "durations": pack(part.durations),
                }
            )
    return out


def refresh_session_days(engine: Engine, *, max_days: int | None = 64) -> int:
    """Rewrite the ``session_days`` rows of dirty days (newest first, at most
    ``max_days`` per call; the rest stay dirty and are read from ``sessions``).

    A day is cleared only if no change marked it again while it was recomputed; the
    marker row is locked first on PostgreSQL, so two nodes never write one day twice.
    Returns how many days were rewritten.
    """
    with map_db_errors(), engine.connect() as conn:
        stmt = select(_X.app_id, _X.day, _X.changes).order_by(_X.day.desc(), _X.app_id)
        if max_days is not None:
            stmt = stmt.limit(max_days)
        dirty = conn.execute(stmt).all()
    done = 0
    for app_id, day, changes in dirty:
        with map_db_errors(), engine.connect() as conn:
            rows = _stored_rows(app_id, _grouped(conn, _conds(app_id, day, day + US_PER_DAY, None)))
        with map_db_errors(), writer(engine).connect() as conn, conn.begin():
            now = conn.execute(
                select(_X.changes).where(_X.app_id == app_id, _X.day == day).with_for_update()
            ).scalar()
            if now != changes:
                continue
            conn.execute(delete(SESSION_DAYS).where(_D.app_id == app_id, _D.day == day))
            if rows:
                conn.execute(insert(SESSION_DAYS), rows)
            conn.execute(delete(SESSION_DAYS_DIRTY).where(_X.app_id == app_id, _X.day == day))
            done += 1
    return done
