"""Release health: per app version and platform, the users active on it (and their
share of all active users), sessions, crash-free users and sessions, errors per
session and when it was first seen; with adoption over time (docs/reports.md).

Reads the release-health tables (eventkit.releases) plus the raw events above that
job's watermark, so the figures are exact at any moment; sessions are the sessions
job's (docs/sessions.md). Definitions:

- crash: a ``$crash`` event (unless ``fatal`` is false) or an ``$error`` with
  ``fatal: true``; error: any ``$crash`` or ``$error`` event;
- users on a version: actors (user id, else device) with an event on it in the range;
  crash-free users = 1 - users with a crash on it / users on it;
- sessions on a version: sessions that started in the range on it (a session's version
  is its first event's); crash-free sessions = 1 - those containing a crash / all;
- errors per session: errors on the version in the range / its sessions.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from eventkit.aggregation.sql import ACTOR, bucket
from eventkit.capture.issues import CRASH, ERROR, fatal_sql
from eventkit.releases.rollup import watermark
from eventkit.reports.query import Interval, Report, ReportQuery, buckets, iso
from eventkit.reports.source import tail_guard
from eventkit.timeutil import US_PER_DAY, from_us

__all__ = [
    "ReleaseHealth",
    "adoption",
    "first_seen",
    "health",
    "latest_version",
    "latest_versions",
    "releases",
]

Key = tuple[str, str]
_ISSUE = f"name IN ('{CRASH}', '{ERROR}')"
_COLUMNS = [
    "app_version",
    "platform",
    "first_seen",
    "users",
    "adoption_pct",
    "sessions",
    "crash_free_users_pct",
    "crash_free_sessions_pct",
    "crashes",
    "errors",
    "errors_per_session",
]


@dataclass
class ReleaseHealth:
    """The figures of one version on one platform over a range."""

    app_version: str
    platform: str
    first_seen: int | None = None
    users: int = 0
    crashed_users: int = 0
    sessions: int = 0
    crashed_sessions: int = 0
    crashes: int = 0
    errors: int = 0

    @property
    def crash_free_users(self) -> float | None:
        """Share of users without a crash (0..1), None without users."""
        return 1 - self.crashed_users / self.users if self.users else None

    @property
    def crash_free_sessions(self) -> float | None:
        """Share of sessions without a crash (0..1), None without sessions."""
        return 1 - self.crashed_sessions / self.sessions if self.sessions else None

    @property
    def errors_per_session(self) -> float | None:
        """Errors per session, None without sessions."""
        return self.errors / self.sessions if self.sessions else None


def _filters(version: str | None, platform: str | None, v: str, p: str) -> str:
    out = ""
    if version is not None:
        out += f" AND {v} = :v"
    if platform is not None:
        out += f" AND {p} = :p"
    return out


class _Ctx:
    """Shared parameters and SQL fragments of one report's queries."""

    def __init__(
        self,
        conn: Connection,
        app_id: int,
        start: int,
        end: int,
        version: str | None,
        platform: str | None,
        by_platform: bool = True,
    ) -> None:
        self.conn = conn
        self.by_platform = by_platform
        self.dialect = conn.dialect.name
        self.aligned = start % US_PER_DAY == 0 and end % US_PER_DAY == 0
        self.params: dict[str, Any] = {
            "app": app_id,
            "s": start,
            "e": end,
            "v": version,
            "p": platform,
            "wm": watermark(conn),
            "yes": True,
        }
        self.version, self.platform = version, platform
        g = tail_guard
        self.tail = (
            f"id > :wm AND {g(conn, 'app_id')} = :app AND {g(conn, 'ts')} >= :s "
            f"AND {g(conn, 'ts')} < :e"
        )

    def p(self, expr: str) -> str:
        """``expr`` (a platform column), or '' when platforms are combined."""
        return expr if self.by_platform else "''"

    def group(self, v: str, p: str) -> str:
        """The GROUP BY list of a version and a platform column."""
        return f"{v}, {p}" if self.by_platform else v

    def where(self, v: str = "app_version", p: str = "platform") -> str:
        return _filters(self.version, self.platform, v, p)

    def ev_where(self) -> str:
        return self.where("COALESCE(app_version, '')", "COALESCE(platform, '')")

    def user_days(self, with_day: bool) -> str:
        """SQL of (day,) version, platform, actor, crashes rows over the range."""
        day = f"{bucket('ts', 'd')} AS day, " if with_day else ""
        fatal = fatal_sql(self.dialect)
        events = (
            f"SELECT {day}COALESCE(app_version, '') AS app_version, COALESCE(platform, '') "
            f"AS platform, {ACTOR} AS actor, CASE WHEN {fatal} THEN 1 ELSE 0 END AS crashes "
            f"FROM events WHERE {{cond}} AND {ACTOR} IS NOT NULL{self.ev_where()}"
        )
        if not self.aligned:
            return events.format(cond="app_id = :app AND ts >= :s AND ts < :e")
        stored = (
            f"SELECT {'day, ' if with_day else ''}app_version, platform, actor, crashes "
            f"FROM release_user_days WHERE app_id = :app AND day >= :s AND day < :e"
            f"{self.where()}"
        )
        return f"{stored} UNION ALL {events.format(cond=self.tail)}"

    def issues(self) -> str:
        """SQL of (event_pk, version, platform, fatal) of the errors in the range."""
        fatal = fatal_sql(self.dialect)
        return (
            "SELECT event_pk, app_version, platform, fatal FROM release_issues WHERE "
            f"app_id = :app AND ts >= :s AND ts < :e{self.where()} UNION ALL "
            f"SELECT id, COALESCE(app_version, ''), COALESCE(platform, ''), {fatal} "
            f"FROM events WHERE {self.tail} AND {_ISSUE}{self.ev_where()}"
        )

    def rows(self, sql: str) -> list[Any]:
        return list(self.conn.execute(text(sql), self.params).all())


def _collect(c: _Ctx) -> dict[Key, ReleaseHealth]:
    out: dict[Key, ReleaseHealth] = {}

    def get(v: Any, p: Any) -> ReleaseHealth:
        return out.setdefault((str(v), str(p)), ReleaseHealth(str(v), str(p)))

    for v, p, users, crashed in c.rows(
        f"SELECT app_version, {c.p('platform')}, COUNT(DISTINCT actor), COUNT(DISTINCT CASE "
        f"WHEN crashes > 0 THEN actor END) FROM ({c.user_days(False)}) t "
        f"GROUP BY {c.group('app_version', 'platform')}"
    ):
        h = get(v, p)
        h.users, h.crashed_users = int(users), int(crashed)
    sv, sp = "COALESCE(app_version, '')", "COALESCE(platform, '')"
    for v, p, n in c.rows(
        f"SELECT {sv}, {c.p(sp)}, COUNT(*) FROM sessions WHERE app_id = :app "
        f"AND started_at >= :s AND started_at < :e{c.ev_where()} GROUP BY {c.group(sv, sp)}"
    ):
        get(v, p).sessions = int(n)
    for v, p, n, fatal in c.rows(
        f"SELECT app_version, {c.p('platform')}, COUNT(*), SUM(CASE WHEN fatal THEN 1 ELSE 0 "
        f"END) FROM ({c.issues()}) t GROUP BY {c.group('app_version', 'platform')}"
    ):
        h = get(v, p)
        h.errors, h.crashes = int(n), int(fatal or 0)
    _crashed_sessions(c, get)
    return out


def _crashed_sessions(c: _Ctx, get: Any) -> None:
    """Sessions started in the range (on the version) that contain a crash. A crash
    happens after its session started, so crashes from ``start`` on are enough."""
    fatal = fatal_sql(c.dialect)
    crashes = (
        "SELECT event_pk FROM release_issues WHERE app_id = :app AND ts >= :s AND fatal = :yes "
        f"UNION ALL SELECT id FROM events WHERE id > :wm AND {tail_guard(c.conn, 'app_id')} "
        f"= :app AND {tail_guard(c.conn, 'ts')} >= :s AND {_ISSUE} AND {fatal}"
    )
    sv, sp = "COALESCE(s.app_version, '')", "COALESCE(s.platform, '')"
    for v, p, n in c.rows(
        f"SELECT {sv}, {c.p(sp)}, COUNT(DISTINCT s.id) FROM ({crashes}) i "
        "JOIN event_sessions es ON es.event_pk = i.event_pk "
        "JOIN sessions s ON s.id = es.session_id WHERE s.app_id = :app "
        f"AND s.started_at >= :s AND s.started_at < :e{_filters(c.version, c.platform, sv, sp)} "
        f"GROUP BY {c.group(sv, sp)}"
    ):
        get(v, p).crashed_sessions = int(n)


def _first_seen(c: _Ctx) -> dict[Key, int]:
    """``{(version, platform): first seen}``; with platforms combined, the earliest."""
    out: dict[Key, int] = {}
    for v, p, first in c.rows(
        "SELECT app_version, platform, first_seen FROM release_versions WHERE app_id = :app"
        f"{c.where()} UNION ALL SELECT app_version, COALESCE(platform, ''), MIN(ts) FROM events "
        f"WHERE id > :wm AND {tail_guard(c.conn, 'app_id')} = :app AND app_version IS NOT NULL"
        f"{c.ev_where()} GROUP BY app_version, COALESCE(platform, '')"
    ):
        key = (str(v), str(p) if c.by_platform else "")
        out[key] = min(int(first), out.get(key, int(first)))
    return out


def health(
    conn: Connection,
    app_id: int,
    start: int,
    end: int,
    *,
    version: str | None = None,
    platform: str | None = None,
    by_platform: bool = True,
) -> tuple[list[ReleaseHealth], int]:
    """Every version-platform active in ``[start, end)`` (newest first) and the number
    of distinct active users of the app in the range (the adoption denominator). With
    ``by_platform=False`` each version's platforms are counted together (platform '')."""
    c = _Ctx(conn, app_id, start, end, version, platform, by_platform)
    data = _collect(c)
    firsts = _first_seen(c)
    for key, h in data.items():
        h.first_seen = firsts.get(key)
    c.version = c.platform = None  # the denominator counts every version
    total = c.rows(f"SELECT COUNT(DISTINCT actor) FROM ({c.user_days(False)}) t")[0][0]
    ordered = sorted(data.values(), key=lambda h: (-(h.first_seen or 0), h.platform, h.app_version))
    return ordered, int(total)


def first_seen(
    conn: Connection, app_id: int, platform: str | None = None, *, by_platform: bool = True
) -> dict[Key, int]:
    """``{(version, platform): when it was first seen}`` (platform '' when combined)."""
    return _first_seen(_Ctx(conn, app_id, 0, US_PER_DAY, None, platform, by_platform))


def latest_versions(conn: Connection, app_id: int, platform: str | None = None) -> dict[str, str]:
    """``{platform: version}`` of the version first seen most recently on each platform"""
    best: dict[str, tuple[int, str]] = {}
    for (v, p), first in first_seen(conn, app_id, platform).items():
        if v and (p not in best or (first, v) > best[p]):
            best[p] = (first, v)
    return {p: v for p, (_, v) in best.items()}


def latest_version(conn: Connection, app_id: int, platform: str | None = None) -> str | None:
    """The version first seen most recently (on ``platform``, or on any platform)."""
    firsts = first_seen(conn, app_id, platform, by_platform=False)
    named = [(t, v) for (v, _), t in firsts.items() if v]
    return max(named)[1] if named else None


def _bucket_sql(interval: Interval, start: int, end: int) -> str:
    if interval in ("hour", "day"):
        return "day"
    starts = buckets(start, end, interval)
    whens = " ".join(f"WHEN day < {b} THEN {a}" for a, b in pairwise(starts))
    return f"(CASE {whens} ELSE {starts[-1]} END)" if whens else str(starts[0])


def adoption(
    conn: Connection, q: ReportQuery, *, version: str | None = None, platform: str | None = None
) -> list[dict[str, Any]]:
    """Per bucket and version-platform: its users and their share of the bucket's
    active users (day, week or month buckets; an hour interval counts per day)."""
    interval: Interval = "day" if q.interval == "hour" else q.interval
    start, end = q.start - q.start % US_PER_DAY, -(-q.end // US_PER_DAY) * US_PER_DAY
    c = _Ctx(conn, q.app_id, start, end, version, platform)
    b = _bucket_sql(interval, start, end)
    per = c.rows(
        f"SELECT {b}, app_version, platform, COUNT(DISTINCT actor) FROM ({c.user_days(True)}) t "
        f"GROUP BY {b}, app_version, platform"
    )
    c.version = c.platform = None
    totals = {
        int(x): int(n)
        for x, n in c.rows(
            f"SELECT {b}, COUNT(DISTINCT actor) FROM ({c.user_days(True)}) t GROUP BY {b}"
        )
    }
    out = []
    for bk, v, p, n in sorted(per, key=lambda r: (int(r[0]), str(r[2]), str(r[1]))):
        if not v:  # no version: in the denominator only
            continue
        total = totals.get(int(bk), 0)
        out.append(
            {
                "bucket": iso(int(bk), interval),
                "app_version": v,
                "platform": p,
                "users": int(n),
                "share_pct": round(100.0 * int(n) / total, 2) if total else None,
            }
        )
    return out


def _pct(x: float | None) -> float | None:
    return None if x is None else round(100.0 * x, 2)


def releases(
    conn: Connection, q: ReportQuery, *, version: str | None = None, platform: str | None = None
) -> Report:
    """The release-health report (``version="latest"``: the newest of each platform)."""
    latest = latest_versions(conn, q.app_id, platform)
    wanted = set(latest.items()) if version == "latest" else None
    if wanted is not None:
        version = None
    items, total = health(conn, q.app_id, q.start, q.end, version=version, platform=platform)
    if wanted is not None:
        items = [h for h in items if (h.platform, h.app_version) in wanted]
    # Events without a version (exposures, server-side events) are active users in the
    # adoption denominator but no release of their own.
    items = [h for h in items if h.app_version]
    rows = []
    for h in items:
        rows.append(
            {
                "app_version": h.app_version or "(none)",
                "platform": h.platform or "(none)",
                "first_seen": from_us(h.first_seen).isoformat(timespec="seconds")
                if h.first_seen is not None
                else None,
                "users": h.users,
                "adoption_pct": round(100.0 * h.users / total, 2) if total else None,
                "sessions": h.sessions,
                "crash_free_users_pct": _pct(h.crash_free_users),
                "crash_free_sessions_pct": _pct(h.crash_free_sessions),
                "crashes": h.crashes,
                "errors": h.errors,
                "errors_per_session": None
                if h.errors_per_session is None
                else round(h.errors_per_session, 4),
                "crashed_users": h.crashed_users,
                "crashed_sessions": h.crashed_sessions,
            }
        )
    meta: dict[str, Any] = {
        "since": iso(q.start, "hour"),
        "until": iso(q.end, "hour"),
        "active_users": total,
        "latest": latest,
        "adoption": adoption(conn, q, version=version, platform=platform),
        "totals": _totals(items),
    }
    return Report("releases", _COLUMNS, rows, meta)


def _totals(items: list[ReleaseHealth]) -> dict[str, Any]:
    """Sessions, crashes and errors over the versions shown (users are not added up: a
    user may have used two versions)."""
    sessions = sum(h.sessions for h in items)
    crashed = sum(h.crashed_sessions for h in items)
    return {
        "sessions": sessions,
        "crashed_sessions": crashed,
        "crashes": sum(h.crashes for h in items),
        "errors": sum(h.errors for h in items),
        "crash_free_sessions_pct": _pct(1 - crashed / sessions) if sessions else None,
    }
