"""A straightforward computation of paths over the raw rows (events and the session
each belongs to), in plain Python: the oracle of tests/reports/test_paths.py."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.storage.types import json_loads

LIFECYCLE = {"$session_start", "$session_end", "$app_background", "$app_foreground",
             "$feature_flag_called", "$identify"}  # fmt: skip


def sessions(engine: Engine, app_id: int = 1) -> dict[str, list[tuple[Any, ...]]]:
    """{session id: [(ts, event id bytes, name, properties)]} in time order."""
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT es.session_id, e.ts, e.event_id, e.name, e.properties FROM events e "
                "JOIN event_sessions es ON es.event_pk = e.id WHERE e.app_id = :a"
            ),
            {"a": app_id},
        ).all()
    out: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for sid, ts, eid, name, props in rows:
        if sid is None:
            continue
        key = eid.bytes if isinstance(eid, uuid.UUID) else bytes(eid)
        p = json_loads(props) if isinstance(props, str | bytes) else dict(props)
        out[sid].append((ts, key, name, p))
    for evs in out.values():
        evs.sort(key=lambda r: (r[0], r[1]))
    return out


def _node(ev: tuple[Any, ...], by: str) -> str | None:
    _, _, name, props = ev
    if by == "screen":
        if name != "$screen":
            return None
        for k in ("$screen_name", "screen_name", "screen"):
            if props.get(k) is not None:
                return str(props[k])
        return None
    return None if name in LIFECYCLE else name


def path_of(
    evs: list[tuple[Any, ...]], *, since: int, until: int, after: str | None,
    before: str | None, steps: int, by: str, names: set[str],
) -> list[str] | None:  # fmt: skip
    anchor = after or before
    screen_anchor = by == "screen" and anchor not in names
    if anchor is None:
        seq, out = evs, []
    else:
        idx = None
        for i, ev in enumerate(evs):
            hit = _node(ev, by) == anchor if screen_anchor else ev[2] == anchor
            if hit:
                idx = i
                break
        if idx is None or not since <= evs[idx][0] < until:
            return None
        seq = list(reversed(evs[:idx])) if before else evs[idx + 1 :]
        out = [anchor]
    for ev in seq:
        n = _node(ev, by)
        if n is None or (out and out[-1] == n):
            continue
        out.append(n)
        if len(out) == steps:
            break
    return out or None


def all_paths(engine: Engine, *, started: dict[str, int], since: int, until: int,
              **kw: Any) -> list[list[str]]:  # fmt: skip
    """Every session's path; without an anchor only sessions started in the range."""
    out = []
    all_sessions = sessions(engine, kw.pop("app_id", 1))
    names = {ev[2] for evs in all_sessions.values() for ev in evs}
    for sid, evs in all_sessions.items():
        anchored = kw.get("after") is not None or kw.get("before") is not None
        if not anchored and not since <= started[sid] < until:
            continue
        p = path_of(evs, since=since, until=until, names=names, **kw)
        if p is not None:
            out.append(p)
    return out


def tree(
    paths: list[list[str]], steps: int
) -> tuple[Counter[tuple[str, ...]], Counter[tuple[str, ...]]]:
    """Sessions through each prefix, and sessions whose path ends at it (short of
    ``steps``)."""
    through: Counter[tuple[str, ...]] = Counter()
    ended: Counter[tuple[str, ...]] = Counter()
    for p in paths:
        for k in range(1, len(p) + 1):
            through[tuple(p[:k])] += 1
        if len(p) < steps:
            ended[tuple(p)] += 1
    return through, ended
