"""Independent, straightforward computations of every report over the raw event rows
(plain Python, no rollups, no SQL beyond reading the rows)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.storage.types import json_loads
from eventkit.timeutil import US_PER_DAY

DAY = US_PER_DAY


@dataclass
class Row:
    id: int
    ts: int
    actor: str | None
    name: str
    platform: str | None
    app_version: str | None
    country: str | None
    props: dict[str, Any]

    def get(self, key: str) -> Any:
        if key in ("platform", "app_version", "country"):
            return getattr(self, key)
        return self.props.get(key)


def load(engine: Engine, app_id: int = 1) -> list[Row]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, ts, user_id, anonymous_id, name, platform, app_version, country, "
                "properties FROM events WHERE app_id = :a"
            ),
            {"a": app_id},
        ).all()
    out = []
    for r in rows:
        props = json_loads(r[8]) if isinstance(r[8], str | bytes) else dict(r[8])
        out.append(Row(r[0], r[1], r[2] or r[3], r[4], r[5], r[6], r[7], props))
    return out


def day_of(ts: int) -> int:
    return ts - ts % DAY


def week_of(ts: int) -> int:
    d = day_of(ts)
    return d - ((d // DAY + 3) % 7) * DAY


def count_by_day(rows: list[Row], s: int, e: int, name: str | None = None) -> dict[int, int]:
    c: Counter[int] = Counter()
    for r in rows:
        if s <= r.ts < e and (name is None or r.name == name):
            c[day_of(r.ts)] += 1
    return dict(c)


def users_by(rows: list[Row], s: int, e: int, bucket: Any) -> dict[int, int]:
    sets: dict[int, set[str]] = defaultdict(set)
    for r in rows:
        if s <= r.ts < e and r.actor:
            sets[bucket(r.ts)].add(r.actor)
    return {k: len(v) for k, v in sets.items()}


def distinct(rows: list[Row], s: int, e: int) -> int:
    return len({r.actor for r in rows if s <= r.ts < e and r.actor})


def funnel(
    rows: list[Row], s: int, e: int, steps: list[tuple[str, dict[str, str]]], window: int
) -> list[tuple[int, float | None]]:
    """(users reaching step i, median seconds from entry) per step."""
    per: dict[str, list[Row]] = defaultdict(list)
    for r in sorted(rows, key=lambda r: (r.ts, r.id)):
        if r.actor and s <= r.ts < e + window:
            per[r.actor].append(r)

    def ok(r: Row, i: int) -> bool:
        name, flt = steps[i]
        return r.name == name and all(str(r.get(k)) == v for k, v in flt.items())

    reached: list[list[int]] = []
    for evs in per.values():
        entry = next((x for x in evs if x.ts < e and ok(x, 0)), None)
        if entry is None:
            continue
        times = [entry.ts]
        for x in evs[evs.index(entry) + 1 :]:
            if len(times) < len(steps) and x.ts <= entry.ts + window and ok(x, len(times)):
                times.append(x.ts)
        reached.append(times)
    out = []
    for i in range(len(steps)):
        got = [t for t in reached if len(t) > i]
        med = statistics.median([(t[i] - t[0]) / 1e6 for t in got]) if i and got else None
        out.append((len(got), med))
    return out


def retention(
    rows: list[Row],
    s: int,
    e: int,
    periods: int,
    a: str | None = None,
    b: str | None = None,
    where: dict[str, str] | None = None,
    week: bool = False,
) -> dict[int, list[int]]:
    """{cohort day: [users, returned in day 0, day 1, ...]} for daily cohorts (weekly
    cohorts and periods with ``week``: a cohort is the week of the first day); ``where``
    keeps only events whose fields equal the given values (cohort and return events)."""
    unit = week_of if week else day_of
    width = 7 * DAY if week else DAY
    if where:
        rows = [r for r in rows if all(str(r.get(k)) == v for k, v in where.items())]
    first: dict[str, int] = {}
    for r in rows:
        if r.actor and (a is None or r.name == a) and r.ts < e:
            first[r.actor] = min(first.get(r.actor, r.ts), r.ts)
    cohorts = {u: unit(t) for u, t in first.items() if s <= day_of(t) < e}
    back: dict[tuple[int, int], set[str]] = defaultdict(set)
    for r in rows:
        if r.actor in cohorts and (b is None or r.name == b):
            n = (unit(r.ts) - cohorts[r.actor]) // width
            if 0 <= n < periods:
                back[(cohorts[r.actor], n)].add(r.actor)
    out: dict[int, list[int]] = {}
    for c in sorted(set(cohorts.values())):
        size = sum(1 for v in cohorts.values() if v == c)
        out[c] = [size, *(len(back[(c, n)]) for n in range(periods))]
    return out
