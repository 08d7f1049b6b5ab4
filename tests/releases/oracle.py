"""Release health computed the plain way: Python over the raw event rows, and each
event's session from ``event_sessions`` (the sessions job's own tests check that)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.storage.types import json_loads
from eventkit.timeutil import US_PER_DAY


@dataclass
class Row:
    id: int
    ts: int
    actor: str | None
    name: str
    version: str
    platform: str
    props: dict[str, Any]
    session: str | None

    @property
    def issue(self) -> bool:
        return self.name in ("$crash", "$error")

    @property
    def fatal(self) -> bool:
        f = self.props.get("fatal")
        return (self.name == "$crash" and f is not False) or (self.name == "$error" and f is True)


def load(engine: Engine, app_id: int = 1) -> list[Row]:
    with engine.connect() as conn:
        sessions = dict(conn.execute(text("SELECT event_pk, session_id FROM event_sessions")).all())
        rows = conn.execute(
            text(
                "SELECT id, ts, user_id, anonymous_id, name, app_version, platform, properties "
                "FROM events WHERE app_id = :a ORDER BY ts, id"
            ),
            {"a": app_id},
        ).all()
    out = []
    for r in rows:
        props = json_loads(r[7]) if isinstance(r[7], str | bytes) else dict(r[7])
        out.append(Row(r[0], r[1], r[2] or r[3], r[4], r[5] or "", r[6] or "", props,
                       sessions.get(r[0])))  # fmt: skip
    return out


@dataclass
class Figures:
    users: set[str] = field(default_factory=set)
    crashed_users: set[str] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)
    crashed_sessions: set[str] = field(default_factory=set)
    errors: int = 0
    crashes: int = 0


def health(rows: list[Row], s: int, e: int) -> dict[tuple[str, str], Figures]:
    out: dict[tuple[str, str], Figures] = defaultdict(Figures)
    for r in rows:
        if not s <= r.ts < e:
            continue
        f = out[(r.version, r.platform)]
        if r.actor:
            f.users.add(r.actor)
            if r.fatal:
                f.crashed_users.add(r.actor)
        if r.issue:
            f.errors += 1
            f.crashes += r.fatal
    by_session: dict[str, list[Row]] = defaultdict(list)
    for r in rows:
        if r.session:
            by_session[r.session].append(r)
    for sid, evs in by_session.items():
        first = evs[0]  # rows are in (ts, id) order
        if not s <= first.ts < e:
            continue
        key = next(((x.version, x.platform) for x in evs if x.version), ("", first.platform))
        out[key].sessions.add(sid)
        if any(x.fatal for x in evs):
            out[key].crashed_sessions.add(sid)
    return dict(out)


def first_seen(rows: list[Row]) -> dict[tuple[str, str], int]:
    out: dict[tuple[str, str], int] = {}
    for r in rows:
        if r.version:
            key = (r.version, r.platform)
            out[key] = min(out.get(key, r.ts), r.ts)
    return out


def adoption(rows: list[Row], s: int, e: int) -> dict[tuple[int, str, str], tuple[int, int]]:
    """{(day, version, platform): (users on it, all active users that day)}."""
    per: dict[tuple[int, str, str], set[str]] = defaultdict(set)
    every: dict[int, set[str]] = defaultdict(set)
    for r in rows:
        if s <= r.ts < e and r.actor:
            day = r.ts - r.ts % US_PER_DAY
            per[(day, r.version, r.platform)].add(r.actor)
            every[day].add(r.actor)
    return {k: (len(v), len(every[k[0]])) for k, v in per.items()}
