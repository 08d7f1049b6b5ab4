"""Cohort membership computed in plain Python over the raw events and profiles (the
oracle of tests/cohorts and of cohort-filtered reports)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.storage.types import json_loads
from eventkit.timeutil import US_PER_DAY, parse_when

DAY = US_PER_DAY


def events(engine: Engine, app_id: int = 1) -> list[tuple[int, str, str]]:
    """(ts, actor, name) of every event with an actor, in time (then arrival) order."""
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT ts, id, user_id, anonymous_id, name FROM events WHERE app_id = :a"),
            {"a": app_id},
        ).all()
    ordered = sorted((int(ts), int(i), u or a, n) for ts, i, u, a, n in rows if (u or a))
    return [(ts, actor, name) for ts, _, actor, name in ordered]


def members(engine: Engine, conditions: list[dict[str, Any]], *, match: str = "all",
            now: int, app_id: int = 1) -> set[str]:  # fmt: skip
    evs = events(engine, app_id)
    first: dict[str, int] = {}
    for ts, actor, _ in evs:
        d = ts - ts % DAY
        first[actor] = min(first.get(actor, d), d)
    sets = []
    for c in conditions:
        if c["type"] == "event":
            n: dict[str, int] = defaultdict(int)
            for ts, actor, name in evs:
                if name != c["event"]:
                    continue
                w = c.get("within_days")
                if w is None:
                    n[actor] += 1
                elif c.get("of", "first_seen") == "now":
                    if now - w * DAY <= ts <= now:
                        n[actor] += 1
                elif first[actor] <= ts - ts % DAY < first[actor] + w * DAY:
                    n[actor] += 1
            lo, hi = c.get("min_count", 1), c.get("max_count", 10**18)
            sets.append({a for a in first if lo <= n.get(a, 0) <= hi})
        elif c["type"] == "first_seen":
            since = parse_when(c["since"], now=now) if c.get("since") else 0
            since -= since % DAY
            until = parse_when(c["until"], now=now) if c.get("until") else 10**18
            sets.append({a for a, d in first.items() if since <= d < until})
        elif c["type"] == "property":
            with engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT user_id, traits FROM user_profiles WHERE app_id = :a"),
                    {"a": app_id},
                ).all()
            got = set()
            for uid, traits in rows:
                t = json_loads(traits) if isinstance(traits, str | bytes) else dict(traits)
                if c["operator"] == "eq" and str(t.get(c["attribute"])) == str(c["value"]):
                    got.add(uid)
            sets.append(got)
        elif c["type"] == "funnel":
            steps, k, win = c["steps"], c["step"], c.get("window_days", 1) * DAY
            by_actor: dict[str, list[tuple[int, str]]] = defaultdict(list)
            for ts, actor, name in evs:
                by_actor[actor].append((ts, name))
            got = set()
            for actor, seq in by_actor.items():
                entry = next((i for i, (_, nm) in enumerate(seq) if nm == steps[0]), None)
                if entry is None:
                    continue
                start, reached = seq[entry][0], 1
                for t, nm in seq[entry + 1 :]:
                    if reached < len(steps) and t <= start + win and nm == steps[reached]:
                        reached += 1
                if (c.get("status", "converted") == "converted" and reached >= k) or (
                    c.get("status") == "dropped" and reached == k - 1
                ):
                    got.add(actor)
            sets.append(got)
    out = sets[0]
    for s in sets[1:]:
        out = out & s if match == "all" else out | s
    return out
