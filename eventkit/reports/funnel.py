"""Funnels: ordered steps within a conversion window, per-step conversion, drop-off,
median time to convert, breakdown by a property, and the users at a step.

Definition: a user enters at their first step-1 event in the range; each later step
is the first matching event after the previous step and no later than the window
after the entry. Computed from raw events (steps need per-user order).
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.engine import Connection

from eventkit.errors import InvalidRequestError
from eventkit.reports.query import Filter, Report, ReportQuery, parse_filter
from eventkit.reports.source import step_rows
from eventkit.timeutil import US_PER_SECOND

__all__ = ["FunnelStep", "Journey", "Status", "funnel", "funnel_users", "journeys", "parse_step"]

Status = Literal["converted", "dropped"]


@dataclass(frozen=True)
class FunnelStep:
    """One step: an event name and property filters on it."""

    name: str
    where: tuple[Filter, ...] = ()


def parse_step(text: str) -> FunnelStep:
    """``name`` or ``name:key=value,key2!=value2``."""
    name, _, filters = text.partition(":")
    if not name.strip():
        raise InvalidRequestError(f"funnel step {text!r} has no event name")
    where = tuple(parse_filter(f) for f in filters.split(",") if f.strip())
    return FunnelStep(name.strip(), where)


@dataclass
class Journey:
    """How far one user got: step timestamps (entry first) and the breakdown value."""

    actor: str
    times: list[int]
    group: str
    #: The arrival ids of the step events (entry first), for measures.
    ids: list[int] = field(default_factory=list)


def journeys(
    conn: Connection, q: ReportQuery, steps: list[FunnelStep], window_us: int
) -> list[Journey]:
    """Every user who entered the funnel in the range, with how far they got."""
    if len(steps) < 2:
        raise InvalidRequestError("a funnel needs at least two steps")
    keys = sorted({f.key for s in steps for f in s.where} | ({q.by} if q.by else set()))
    col = {k: 4 + i for i, k in enumerate(keys)}
    rows = step_rows(
        conn, app_id=q.app_id, start=q.start, end=q.end + window_us,
        names=sorted({s.name for s in steps}), where=q.where, extra=keys,
    )  # fmt: skip

    def matches(row: tuple[Any, ...], step: FunnelStep) -> bool:
        return row[2] == step.name and all(f.matches(row[col[f.key]]) for f in step.where)

    # The loop runs once per step event (millions at scale): no property look-ups,
    # filters checked only for steps that have some.
    end = q.end
    plain = [not s.where for s in steps]
    names = [s.name for s in steps]
    first, first_plain, total = steps[0], plain[0], len(steps)
    by = col[q.by] if q.by else None
    out: list[Journey] = []
    current: Journey | None = None
    last: str | None = None
    for row in rows:
        actor = row[1]
        if actor is None:
            continue
        if actor != last:
            last, current = actor, None
        if current is None:
            ts = row[0]
            if ts < end and (row[2] == first.name if first_plain else matches(row, first)):
                group = str(row[by] or "") if by is not None else ""
                current = Journey(actor, [int(ts)], group, [int(row[3])])
                out.append(current)
            continue
        times = current.times
        k = len(times)
        if (
            k < total
            and row[0] <= times[0] + window_us
            and (row[2] == names[k] if plain[k] else matches(row, steps[k]))
        ):
            times.append(int(row[0]))
            current.ids.append(int(row[3]))
    return out


def _rows(js: list[Journey], steps: list[FunnelStep], group: str | None) -> list[dict[str, Any]]:
    rows = []
    entered = len(js)
    prev = entered
    for i, step in enumerate(steps):
        done = [j for j in js if len(j.times) > i]
        n = len(done)
        secs = [(j.times[i] - j.times[0]) / US_PER_SECOND for j in done] if i else []
        row: dict[str, Any] = {}
        if group is not None:
            row["group"] = group or "(none)"
        row.update(
            step=i + 1,
            event=step.name,
            users=n,
            conversion_pct=round(100.0 * n / entered, 1) if entered else 0.0,
            step_conversion_pct=round(100.0 * n / prev, 1) if prev else 0.0,
            dropped=prev - n,
            median_seconds=round(statistics.median(secs), 1) if secs else None,
        )
        rows.append(row)
        prev = n
    return rows


def funnel(
    conn: Connection, q: ReportQuery, steps: list[FunnelStep], *, window_seconds: int,
    js: list[Journey] | None = None,
) -> Report:  # fmt: skip
    """The funnel report (one block of steps per breakdown value with ``q.by``);
    ``js`` are the journeys when the caller already traced them."""
    if js is None:
        js = journeys(conn, q, steps, window_seconds * US_PER_SECOND)
    if q.by:
        groups: dict[str, list[Journey]] = defaultdict(list)
        for j in js:
            groups[j.group].append(j)
        rows = [r for g in sorted(groups) for r in _rows(groups[g], steps, g)]
    else:
        rows = _rows(js, steps, None)
    cols = [*(["group"] if q.by else []), "step", "event", "users", "conversion_pct",
            "step_conversion_pct", "dropped", "median_seconds"]  # fmt: skip
    meta = {
        "steps": [s.name for s in steps],
        "window_seconds": window_seconds,
        "entered": len(js),
        "converted": sum(1 for j in js if len(j.times) == len(steps)),
    }
    return Report("funnel", cols, rows, meta)


def funnel_users(
    conn: Connection,
    q: ReportQuery,
    steps: list[FunnelStep],
    *,
    window_seconds: int,
    step: int,
    status: Status,
) -> Report:
    """Users who reached step ``step`` (1-based), or who reached the step before it
    and dropped there."""
    if not 1 <= step <= len(steps) or (status == "dropped" and step < 2):
        raise InvalidRequestError(
            f"step must be 1..{len(steps)} (2..{len(steps)} for dropped users)"
        )
    js = journeys(conn, q, steps, window_seconds * US_PER_SECOND)
    if status == "converted":
        chosen = [j for j in js if len(j.times) >= step]
    else:
        chosen = [j for j in js if len(j.times) == step - 1]
    rows = [{"user": j.actor, "entered_at_us": j.times[0]} for j in chosen]
    rows.sort(key=lambda r: str(r["user"]))
    return Report("funnel_users", ["user", "entered_at_us"], rows, {"step": step, "status": status})
