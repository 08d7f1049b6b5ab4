"""The report rollups computed independently, in plain Python, from the raw event rows
(no SQL beyond reading the rows), to check rollups after erasure and retention."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.storage.types import json_loads
from eventkit.timeutil import US_PER_DAY, US_PER_HOUR, now_us

WINDOWS = {"$wau": 7, "$mau": 30}


def raw_rows(engine: Engine, app_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT id, ts, name, user_id, anonymous_id, platform, app_version, country, "
                "properties FROM events WHERE app_id = :a"
            ),
            {"a": app_id},
        ).mappings()
        out = []
        for r in rows:
            d = dict(r)
            p = d["properties"]
            d["properties"] = json_loads(p) if isinstance(p, str | bytes) else dict(p)
            d["actor"] = d["user_id"] or d["anonymous_id"]
            out.append(d)
    return out


def expected_rollups(
    rows: list[dict[str, Any]], app_id: int, props: list[str]
) -> dict[str, set[tuple[Any, ...]]]:
    """Every rollup table's rows (non-zero counts) for these raw events."""
    counts: Counter[tuple[Any, ...]] = Counter()
    user_days: Counter[tuple[Any, ...]] = Counter()
    first: dict[tuple[str, str], int] = {}
    by_name: set[tuple[Any, ...]] = set()
    users: dict[tuple[str, int], set[str]] = defaultdict(set)
    for r in rows:
        ts, name, actor = r["ts"], r["name"], r["actor"]
        for period, size in (("h", US_PER_HOUR), ("d", US_PER_DAY)):
            b = ts - ts % size
            counts[(app_id, period, b, name, "", "")] += 1
            for col in ("platform", "app_version", "country"):
                counts[(app_id, period, b, name, col, (r[col] or "")[:200])] += 1
            for p in props:
                v = r["properties"].get(p)
                counts[(app_id, period, b, name, f"prop:{p}", "" if v is None else str(v))] += 1
        if actor is None:
            continue
        day = ts - ts % US_PER_DAY
        by_name.add((app_id, name, ts, r["id"], actor))
        for n in (name, ""):
            user_days[(app_id, n, day, actor)] += 1
            first[(n, actor)] = min(first.get((n, actor), day), day)
            users[(n, day)].add(actor)
    for (n, day), actors in users.items():
        counts[(app_id, "d", day, n, "$users", "")] = len(actors)
    days_active: dict[int, set[str]] = defaultdict(set)
    for (n, day), actors in users.items():
        if n == "":
            days_active[day] |= actors
    if rows:
        # Windows are stored up to the newest event's day or today, if later.
        last = max(max(r["ts"] for r in rows), now_us())
        last -= last % US_PER_DAY
        for dim, span in WINDOWS.items():
            ends = {d + i * US_PER_DAY for d in days_active for i in range(span)}
            for x in ends:
                if x > last:
                    continue
                seen = set().union(
                    *(a for d, a in days_active.items() if x - span * US_PER_DAY < d <= x)
                )
                if seen:
                    counts[(app_id, "d", x, "", dim, "")] = len(seen)
    return {
        "rollup_counts": {(*k, c) for k, c in counts.items() if c},
        "rollup_user_days": {(*k, c) for k, c in user_days.items()},
        "rollup_first_days": {(app_id, n, a, d) for (n, a), d in first.items()},
        "rollup_events_by_name": by_name,
    }


def stored_rollups(engine: Engine, app_id: int) -> dict[str, set[tuple[Any, ...]]]:
    """The rollup tables' rows of one app (zero counts left out)."""
    queries = {
        "rollup_counts": "SELECT app_id, period, bucket, name, dim, value, count "
        "FROM rollup_counts WHERE app_id = :a AND count <> 0",
        "rollup_user_days": "SELECT app_id, name, day, actor, count FROM rollup_user_days "
        "WHERE app_id = :a",
        "rollup_first_days": "SELECT app_id, name, actor, first_day FROM rollup_first_days "
        "WHERE app_id = :a",
        "rollup_events_by_name": "SELECT app_id, name, ts, id, actor FROM "
        "rollup_events_by_name WHERE app_id = :a",
    }
    with engine.connect() as conn:
        return {
            t: {tuple(r) for r in conn.execute(text(q), {"a": app_id})} for t, q in queries.items()
        }
