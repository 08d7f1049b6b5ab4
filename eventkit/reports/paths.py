"""User paths: the most common sequences of screens or events within a session
(docs/reports.md#paths).

Definition:

- A session is a session of ``eventkit.sessions`` (``event_sessions.session_id``);
  events the sessions job has not reached yet are not in any path (``meta`` says how
  far it got).
- A session's *nodes* are its events in time order (``ts``, then ``event_id``, the
  sessions' own order): with ``by="screen"`` the screen name of each ``$screen`` event
  (``$screen_name``, else ``screen_name``, else ``screen``), with ``by="event"`` each
  event name except lifecycle noise (:data:`NOISE`). A repeat of the same node in a
  row is one step (a refresh is not a navigation).
- ``after=E``: paths start at the session's first ``E`` (an event name; with
  ``by="screen"``, when the app has no event called ``E``, a screen name) and follow
  the next ``steps - 1`` nodes.
  ``before=E``: paths end at the first ``E`` and show the ``steps - 1`` nodes before
  it. A session counts when its first ``E`` is in ``[since, until)``. Neither: paths
  start at the session's first node, for the sessions that started in the range.
- The tree counts sessions exactly. At each node the ``limit`` most frequent next
  steps are kept and the rest are summed into ``(other)``; ``ended`` is how many
  sessions had no further node there (the drop-off; for ``before``: no earlier node).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from operator import itemgetter
from typing import Any, Final, Literal

from sqlalchemy import text
from sqlalchemy.engine import Connection

from eventkit.errors import InvalidRequestError
from eventkit.reports.cohort_filter import cohort_of
from eventkit.reports.query import Filter, Report, ReportQuery, iso
from eventkit.reports.source import (
    fetch_positional,
    step_rows,
    tail_guard,
    watermark_of,
)
from eventkit.sessions.timeline import SCREEN as SCREEN_EVENT
from eventkit.sessions.timeline import screen_of
from eventkit.storage.types import json_loads

__all__ = ["NOISE", "OTHER", "PathNode", "PathsSpec", "build_tree", "paths", "session_nodes"]

By = Literal["screen", "event"]
#: Event names left out of ``by="event"`` paths (unless they are the anchor).
NOISE = frozenset({
    "$session_start", "$session_end", "$app_background", "$app_foreground",
    "$feature_flag_called", "$identify",
})  # fmt: skip
OTHER = "(other)"
_CHUNK = 500


@dataclass(frozen=True)
class PathsSpec:
    """What to trace: the anchor, its direction, the depth and the node kind."""

    after: str | None = None
    before: str | None = None
    steps: int = 5
    by: By = "screen"
    limit: int = 5

    def __post_init__(self) -> None:
        if self.after and self.before:
            raise InvalidRequestError("give --after or --before, not both")
        if not 2 <= self.steps <= 20:
            raise InvalidRequestError("steps must be between 2 and 20")
        if not 1 <= self.limit <= 50:
            raise InvalidRequestError("limit must be between 1 and 50")
        if self.by not in ("screen", "event"):
            raise InvalidRequestError("by must be screen or event")

    @property
    def anchor(self) -> str | None:
        """The event (or screen) the paths start or end at."""
        return self.after or self.before


@dataclass
class PathNode:
    """A node of the tree: the sessions that took this path so far."""

    name: str
    sessions: int = 0
    ended: int = 0
    children: dict[str, PathNode] = field(default_factory=dict)


#: One event of a session as paths read it, a plain row of the steps query:
#: (session id, ts, events.id, name, screen). Plain tuples: paths read hundreds of
#: thousands of them, and building an object per event cost more than the query.
Ev = tuple[Any, int, int, str, str | None]
_TS: Final = 1
_PK: Final = 2
_NAME: Final = 3
_SCREEN: Final = 4


def _node(e: Ev, by: By) -> str | None:
    if by == "screen":
        return e[_SCREEN] if e[_NAME] == SCREEN_EVENT else None
    return None if e[_NAME] in NOISE else e[_NAME]


def _matches(e: Ev, anchor: str, screen: bool) -> bool:
    if screen:
        return e[_NAME] == SCREEN_EVENT and e[_SCREEN] == anchor
    return e[_NAME] == anchor


def session_nodes(
    events: Sequence[Ev], spec: PathsSpec, since: int, until: int, *, screen: bool = False
) -> list[str] | None:
    """The path of one session (its events in order), or None when the session has
    no anchor (or no node) in range; ``screen``: the anchor is a screen name, not an
    event name. ``before`` paths are returned nearest-first."""
    anchor = spec.anchor
    start = 0
    if anchor is not None:
        hit = next((i for i, e in enumerate(events) if _matches(e, anchor, screen)), None)
        if hit is None or not since <= events[hit][_TS] < until:
            return None
        start = hit
    out: list[str] = []
    if anchor is not None:
        out.append(anchor)
    seq: Iterable[Ev] = (
        reversed(events[:start]) if spec.before else events[start + (1 if anchor else 0) :]
    )
    for e in seq:
        n = _node(e, spec.by)
        if n is None or (out and out[-1] == n):
            continue
        out.append(n)
        if len(out) >= spec.steps:
            break
    return out or None


def build_tree(paths_: Iterable[list[str]], steps: int, limit: int) -> PathNode:
    """The exact prefix tree of ``paths_`` with ``(other)`` buckets past ``limit``."""
    root = PathNode("")
    for p in paths_:
        root.sessions += 1
        node = root
        for name in p:
            node = node.children.setdefault(name, PathNode(name))
            node.sessions += 1
        if len(p) < steps:
            node.ended += 1
    _prune(root, limit)
    return root


def _prune(node: PathNode, limit: int) -> None:
    ranked = sorted(node.children.values(), key=lambda c: (-c.sessions, c.name))
    keep, rest = ranked[:limit], ranked[limit:]
    node.children = {c.name: c for c in keep}
    if rest:
        other = PathNode(OTHER, sessions=sum(c.sessions for c in rest),
                         ended=sum(c.ended for c in rest))  # fmt: skip
        node.children[OTHER] = other
    for c in keep:
        _prune(c, limit)


#: Each session's steps, from the index of ``event_sessions`` alone. The sessions
#: come as a VALUES list joined first (CROSS JOIN fixes the order on SQLite): with the
#: session ids as an IN list SQLite chose to scan the app's whole index instead.
_STEPS = (
    "WITH x (id, dk, lo, hi) AS (VALUES {values}) "
    "SELECT es.session_id, es.ts, es.event_pk, es.name, es.screen "
    "FROM x {join} event_sessions es ON es.app_id = ? AND es.device_key = x.dk "
    "AND es.ts >= x.lo AND es.ts <= x.hi AND es.session_id = x.id"
)
_VALUE = "(CAST(? AS VARCHAR(36)), CAST(? AS VARCHAR(210)), CAST(? AS BIGINT), CAST(? AS BIGINT))"


def _session_events(
    conn: Connection, app_id: int, session_ids: Sequence[str]
) -> dict[str, list[Ev]]:
    """Every event of the given sessions, in the sessions' order: read from the
    index of ``event_sessions`` alone (it carries each event's name and screen), in
    time then arrival order; ``events`` is visited only for rows stored before those
    columns existed and not filled in yet, and for the event ids that order events
    with the same time."""
    out: dict[str, list[Ev]] = {}
    join = "CROSS JOIN" if conn.dialect.name == "sqlite" else "JOIN"
    for i in range(0, len(session_ids), _CHUNK):
        chunk = list(session_ids[i : i + _CHUNK])
        # By id alone (the primary key): with app_id in the WHERE, SQLite may scan
        # the app's sessions by ix_sessions_app_started instead.
        spans = [
            (sid, dk, lo, hi)
            for sid, app, dk, lo, hi in fetch_positional(
                conn,
                "SELECT id, app_id, device_key, started_at, last_event_at FROM sessions "
                f"WHERE id IN ({', '.join(['?'] * len(chunk))})",
                chunk,
            )
            if int(app) == app_id
        ]
        if not spans:
            continue
        sql = _STEPS.format(values=", ".join([_VALUE] * len(spans)), join=join)
        args = [v for span in spans for v in span]
        for row in fetch_positional(conn, sql, [*args, app_id]):
            out.setdefault(row[0], []).append(row)
    missing = [e[_PK] for evs in out.values() for e in evs if e[_NAME] is None]
    names = _event_names(conn, missing)
    tied: dict[str, set[int]] = {}
    for sid, evs in out.items():
        evs.sort(key=_BY_TS)  # already in time order from the index, except on PostgreSQL
        if missing and any(e[_NAME] is None for e in evs):
            evs[:] = [(e[0], e[_TS], e[_PK], *names.get(e[_PK], ("", None)))
                      if e[_NAME] is None else e for e in evs]  # fmt: skip
        pks = _tied(evs)
        if pks:
            tied[sid] = pks
    keys = _event_keys(conn, [pk for pks in tied.values() for pk in pks])
    for sid in tied:
        out[sid].sort(key=lambda e: (e[_TS], keys.get(e[_PK], b"")))
    return {str(sid): evs for sid, evs in out.items()}


_BY_TS = itemgetter(_TS)


def _tied(evs: list[Ev]) -> set[int]:
    """The pks of events that share their time with another event of the session
    (``evs`` in time order)."""
    out: set[int] = set()
    for a, b in pairwise(evs):
        if a[_TS] == b[_TS]:
            out.update((a[_PK], b[_PK]))
    return out


def _event_names(conn: Connection, pks: Sequence[int]) -> dict[int, tuple[str, str | None]]:
    """``{pk: (name, screen)}`` read from ``events`` (rows not filled in yet)."""
    out: dict[int, tuple[str, str | None]] = {}
    for i in range(0, len(pks), _CHUNK):
        marks = ", ".join(str(int(x)) for x in pks[i : i + _CHUNK])
        for pk, name, props in conn.execute(
            text(f"SELECT id, name, properties FROM events WHERE id IN ({marks})")
        ):
            if name == SCREEN_EVENT:
                p = json_loads(props) if isinstance(props, str | bytes) else props
                out[int(pk)] = (name, screen_of(p))
            else:
                out[int(pk)] = (name, None)
    return out


def _event_keys(conn: Connection, pks: Sequence[int]) -> dict[int, bytes]:
    """``{pk: event id bytes}``: the tie-break of events with the same time."""
    out: dict[int, bytes] = {}
    for i in range(0, len(pks), _CHUNK):
        marks = ", ".join(str(int(x)) for x in pks[i : i + _CHUNK])
        for pk, eid in conn.execute(text(f"SELECT id, event_id FROM events WHERE id IN ({marks})")):
            out[int(pk)] = eid.bytes if hasattr(eid, "bytes") else bytes(eid)
    return out


def _anchor_sessions(conn: Connection, q: ReportQuery, spec: PathsSpec, screen: bool) -> list[str]:
    """Sessions with an anchor event in the range (found by name through the rollup's
    narrow copy of events, so this does not scan the whole range)."""
    assert spec.anchor is not None
    ids: list[int] = []
    if not screen:
        rows = step_rows(conn, app_id=q.app_id, start=q.since, end=q.until,
                         names=[spec.anchor], where=[])  # fmt: skip
        ids = [int(r[3]) for r in rows]
    else:
        for key in ("$screen_name", "screen_name", "screen"):
            got = step_rows(conn, app_id=q.app_id, start=q.since, end=q.until,
                            names=[SCREEN_EVENT], where=[Filter(key, spec.anchor)])  # fmt: skip
            ids += [int(r[3]) for r in got]
    found: set[str] = set()
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        marks = ", ".join(str(int(x)) for x in chunk)
        found.update(
            str(s)
            for s in conn.execute(
                text(
                    "SELECT DISTINCT session_id FROM event_sessions WHERE event_pk IN "
                    f"({marks}) AND session_id IS NOT NULL"
                )
            ).scalars()
        )
    return sorted(found)


def _is_event_name(conn: Connection, app_id: int, name: str) -> bool:
    """Whether the app has ever stored an event called ``name`` (then an anchor of
    that name is the event, not a screen)."""
    hit = conn.execute(
        text("SELECT 1 FROM rollup_events_by_name WHERE app_id = :a AND name = :n LIMIT 1"),
        {"a": app_id, "n": name},
    ).first() or conn.execute(
        text(f"SELECT 1 FROM events WHERE id > :wm AND {tail_guard(conn, 'app_id')} = :a "
             "AND name = :n LIMIT 1"),
        {"a": app_id, "n": name, "wm": watermark_of(conn)},
    ).first()  # fmt: skip
    return hit is not None


def _range_sessions(conn: Connection, q: ReportQuery) -> list[str]:
    """Sessions that started in the range."""
    return [
        str(s)
        for s in conn.execute(
            text(
                "SELECT id FROM sessions WHERE app_id = :app AND started_at >= :s "
                "AND started_at < :e"
            ),
            {"app": q.app_id, "s": q.since, "e": q.until},
        ).scalars()
    ]


def _sessions_through(conn: Connection) -> int:
    value = conn.execute(text("SELECT value FROM session_state WHERE name = 'watermark'")).scalar()
    return int(value or 0)


def _in_cohort(conn: Connection, q: ReportQuery, ids: list[str]) -> list[str]:
    """The sessions whose actor (user, else device) is in the query's cohort."""
    cohort = cohort_of(q)
    if cohort is None:
        return ids
    members = {
        str(a)
        for a in conn.execute(
            text(
                "SELECT m.actor FROM cohort_members m JOIN cohorts c ON c.id = m.cohort_id "
                "WHERE c.app_id = :app AND c.name = :c"
            ),
            {"app": q.app_id, "c": cohort},
        ).scalars()
    }
    keep = set()
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        marks = ", ".join(f":s{j}" for j in range(len(chunk)))
        for sid, actor in conn.execute(
            text(f"SELECT id, COALESCE(user_id, anonymous_id) FROM sessions WHERE id IN ({marks})"),
            {f"s{j}": s for j, s in enumerate(chunk)},
        ):
            if actor is not None and str(actor) in members:
                keep.add(str(sid))
    return [s for s in ids if s in keep]


def collect_paths(conn: Connection, q: ReportQuery, spec: PathsSpec) -> list[list[str]]:
    """Every session's path (see the module docstring)."""
    screen = (
        spec.anchor is not None
        and spec.by == "screen"
        and not _is_event_name(conn, q.app_id, spec.anchor)
    )
    ids = _anchor_sessions(conn, q, spec, screen) if spec.anchor else _range_sessions(conn, q)
    ids = _in_cohort(conn, q, ids)
    by_session = _session_events(conn, q.app_id, ids)
    out = []
    for sid in ids:
        p = session_nodes(by_session.get(sid, []), spec, q.since, q.until, screen=screen)
        if p is not None:
            out.append(p)
    return out


def _rows(root: PathNode, spec: PathsSpec) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    arrow = " ← " if spec.before else " → "

    def walk(node: PathNode, trail: list[str], depth: int) -> None:
        for child in node.children.values():
            here = [*trail, child.name]
            step = -(depth - 1) if spec.before else depth
            rows.append({
                "step": step, "path": arrow.join(here), "node": child.name,
                "sessions": child.sessions,
                "pct": round(100.0 * child.sessions / root.sessions, 1) if root.sessions else 0.0,
                "ended": child.ended,
            })  # fmt: skip
            walk(child, here, depth + 1)

    walk(root, [], 1)
    return rows


def _top_paths(all_paths: list[list[str]], n: int = 10) -> list[dict[str, Any]]:
    counts = Counter(tuple(p) for p in all_paths)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [{"path": list(k), "sessions": v} for k, v in ranked]


def paths(conn: Connection, q: ReportQuery, spec: PathsSpec) -> Report:
    """The paths report: tree rows in depth-first order, the top complete paths in
    ``meta["top_paths"]``."""
    all_paths = collect_paths(conn, q, spec)
    root = build_tree(all_paths, spec.steps, spec.limit)
    meta: dict[str, Any] = {
        "after": spec.after, "before": spec.before, "by": spec.by, "steps": spec.steps,
        "limit": spec.limit, "sessions": root.sessions,
        "since": iso(q.since, "hour"), "until": iso(q.until, "hour"),
        "sessions_through_event_id": _sessions_through(conn),
        "top_paths": _top_paths(all_paths),
    }  # fmt: skip
    cols = ["step", "path", "node", "sessions", "pct", "ended"]
    return Report("paths", cols, _rows(root, spec), meta)
