"""Who is in a cohort: each condition of a :class:`CohortSpec` evaluated over the
report rollups (first days, user-days, the by-name event copy) plus the events not
rolled up yet, so membership is exact for every committed event.

``candidates`` restricts the evaluation to some actors (an incremental refresh: the
actors with events since the last one); None evaluates everyone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import text
from sqlalchemy.engine import Connection

from eventkit.aggregation.sql import ACTOR, bucket
from eventkit.cohorts.spec import CohortCondition, CohortSpec
from eventkit.flags.conditions import compile_condition
from eventkit.flags.spec import Condition
from eventkit.reports.funnel import journeys, parse_step
from eventkit.reports.query import ReportQuery
from eventkit.reports.source import first_days, step_rows, tail_guard, watermark_of
from eventkit.storage.types import json_loads
from eventkit.timeutil import US_PER_DAY, parse_when

__all__ = ["evaluate", "touched_actors"]

_FAR = 2**62
_CHUNK = 500


def _chunks(items: Sequence[str]) -> Iterable[list[str]]:
    for i in range(0, len(items), _CHUNK):
        yield list(items[i : i + _CHUNK])


def _first_days(conn: Connection, app_id: int, candidates: set[str] | None) -> dict[str, int]:
    """{actor: first UTC day (any event)}."""
    if candidates is None:
        return first_days(conn, app_id=app_id, name="", start=0, end=_FAR)
    out: dict[str, int] = {}
    params: dict[str, object] = {"app": app_id, "wm": watermark_of(conn)}
    g = tail_guard
    for chunk in _chunks(sorted(candidates)):
        marks = ", ".join(f":a{i}" for i in range(len(chunk)))
        p = {**params, **{f"a{i}": a for i, a in enumerate(chunk)}}
        for actor, day in conn.execute(
            text(
                "SELECT actor, first_day FROM rollup_first_days WHERE app_id = :app "
                f"AND name = '' AND actor IN ({marks}) UNION ALL "
                f"SELECT {ACTOR}, MIN({bucket('ts', 'd')}) FROM events WHERE id > :wm "
                f"AND {g(conn, 'app_id')} = :app AND {ACTOR} IN ({marks}) GROUP BY {ACTOR}"
            ),
            p,
        ):
            out[str(actor)] = min(int(day), out.get(str(actor), int(day)))
    return out


def _day_counts(
    conn: Connection, app_id: int, name: str, candidates: set[str] | None
) -> dict[str, dict[int, int]]:
    """{actor: {day: times they did ``name``}} from the user-days plus the tail."""
    g = tail_guard
    base = (
        "SELECT actor, day, count FROM rollup_user_days WHERE app_id = :app AND name = :name"
        "{a} UNION ALL "
        f"SELECT {ACTOR}, {bucket('ts', 'd')}, 1 FROM events WHERE id > :wm "
        f"AND {g(conn, 'app_id')} = :app AND name = :name AND {ACTOR} IS NOT NULL{{b}}"
    )
    params: dict[str, object] = {"app": app_id, "name": name, "wm": watermark_of(conn)}
    out: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    groups: list[list[str]] = [[]] if candidates is None else list(_chunks(sorted(candidates)))
    for chunk in groups:
        marks = ", ".join(f":a{i}" for i in range(len(chunk)))
        a = f" AND actor IN ({marks})" if chunk else ""
        b = f" AND {ACTOR} IN ({marks})" if chunk else ""
        p = {**params, **{f"a{i}": x for i, x in enumerate(chunk)}}
        for actor, day, n in conn.execute(text(base.format(a=a, b=b)), p):
            out[str(actor)][int(day)] += int(n)
    return out


def _event(conn: Connection, app_id: int, c: CohortCondition, now: int,
           candidates: set[str] | None, universe: set[str]) -> set[str]:  # fmt: skip
    assert c.event is not None
    counts: dict[str, int] = defaultdict(int)
    if c.within_days is not None and c.of == "now":
        rows = step_rows(conn, app_id=app_id, start=now - c.within_days * US_PER_DAY,
                         end=now + 1, names=[c.event], where=[])  # fmt: skip
        for r in rows:
            counts[str(r[1])] += 1
    else:
        days = _day_counts(conn, app_id, c.event, candidates)
        firsts = _first_days(conn, app_id, set(days)) if c.within_days is not None else {}
        for actor, by_day in days.items():
            if c.within_days is None:
                counts[actor] = sum(by_day.values())
                continue
            first = firsts.get(actor)
            if first is None:
                continue
            last = first + c.within_days * US_PER_DAY
            counts[actor] = sum(n for d, n in by_day.items() if first <= d < last)
    pool = universe if c.min_count == 0 else set(counts)
    hi = c.max_count if c.max_count is not None else _FAR
    return {a for a in pool if c.min_count <= counts.get(a, 0) <= hi}


def _when(value: str | None, default: int, now: int) -> int:
    return default if value is None else parse_when(value, now=now)


def _first_seen(firsts: dict[str, int], c: CohortCondition, now: int) -> set[str]:
    lo = _when(c.since, 0, now)
    lo -= lo % US_PER_DAY
    hi = _when(c.until, _FAR, now)
    return {a for a, d in firsts.items() if lo <= d < hi}


def _funnel(conn: Connection, app_id: int, c: CohortCondition, now: int) -> set[str]:
    since, until = _when(c.since, 0, now), _when(c.until, now + 1, now)
    q = ReportQuery(app_id=app_id, since=since, until=max(until, since + 1))
    js = journeys(conn, q, [parse_step(s) for s in c.steps], c.window_days * US_PER_DAY)
    if c.status == "converted":
        return {j.actor for j in js if len(j.times) >= c.step}
    return {j.actor for j in js if len(j.times) == c.step - 1}


def _property(conn: Connection, app_id: int, c: CohortCondition) -> set[str]:
    assert c.attribute is not None
    assert c.operator is not None
    pred = compile_condition(Condition(c.attribute, c.operator, c.value))
    out = set()
    for uid, traits in conn.execute(
        text("SELECT user_id, traits FROM user_profiles WHERE app_id = :app"), {"app": app_id}
    ):
        attrs = json_loads(traits) if isinstance(traits, str | bytes) else dict(traits or {})
        attrs.setdefault("user_id", uid)
        if pred(attrs):
            out.add(str(uid))
    return out


def evaluate(conn: Connection, app_id: int, spec: CohortSpec, *, now: int,
             candidates: set[str] | None = None) -> set[str]:  # fmt: skip
    """The actors matching ``spec`` (only among ``candidates`` when given)."""
    firsts = _first_days(conn, app_id, candidates)
    universe = set(firsts) if candidates is None else set(firsts) & candidates
    result: set[str] | None = None
    for c in spec.conditions:
        if c.type == "event":
            got = _event(conn, app_id, c, now, candidates, universe)
        elif c.type == "first_seen":
            got = _first_seen(firsts, c, now)
        elif c.type == "funnel":
            got = _funnel(conn, app_id, c, now)
        else:
            got = _property(conn, app_id, c)
        if candidates is not None:
            got &= candidates
        if result is not None:
            got = (result & got) if spec.match == "all" else (result | got)
        result = got
    return result or set()


def touched_actors(conn: Connection, app_id: int, after_id: int, changed_since: int) -> set[str]:
    """Actors with events that arrived after ``after_id``, and users whose profile
    changed since ``changed_since`` (epoch µs): the candidates of an incremental
    refresh."""
    g = tail_guard
    rows = conn.execute(
        text(
            f"SELECT DISTINCT {ACTOR} FROM events WHERE id > :lo AND {g(conn, 'app_id')} = :app "
            f"AND {ACTOR} IS NOT NULL"
        ),
        {"lo": after_id, "app": app_id},
    ).scalars()
    out = {str(a) for a in rows}
    out |= {
        str(u)
        for u in conn.execute(
            text("SELECT user_id FROM user_profiles WHERE app_id = :app AND last_seen >= :t"),
            {"app": app_id, "t": changed_since},
        ).scalars()
    }
    return out
