"""Session statistics equal a straightforward computation over the same rows in
Python, for every grouping, on SQLite and PostgreSQL, odd and even counts, ties, empty
platform and version, open sessions, and filters — read from ``sessions`` (dirty
days), from the per-day rows of ``session_days`` (after the job rewrote them), and
from both at once (ranges that cut through days, days changed since)."""

from __future__ import annotations

import math
import random
import statistics
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Engine

from eventkit.sessions import days as days_module
from eventkit.sessions.days import kth, pack, refresh_session_days, unpack
from eventkit.sessions.queries import GROUPINGS, SessionFilter, session_stats
from eventkit.storage.apps import create_app
from eventkit.storage.engine import make_engine
from eventkit.storage.migrate import upgrade
from eventkit.storage.models import SESSION_DAYS, SESSION_DAYS_DIRTY, SESSIONS

DAY = 86_400_000_000
T0 = 1_767_225_600_000_000  # 2026-01-01 00:00 UTC


def rows_for(app_id: int, rng: random.Random, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        started = T0 + rng.randrange(0, 6 * DAY, 1_000_000)
        # Ties are common: durations on a coarse grid, zero for bounces.
        duration = rng.choice([0, 0, 5, 30, 60, 60, 90, 180, 5400]) * 1_000_000
        duration += rng.choice([0, 0, 0, 500_000])
        out.append(
            {
                "id": f"{app_id}-{i}",
                "app_id": app_id,
                "device_key": f"d{rng.randrange(40)}",
                "platform": rng.choice(["ios", "android", None, ""]),
                "app_version": rng.choice(["3.4.0", "3.5.0", None]),
                "started_at": started,
                "last_event_at": started + duration,
                "duration_us": duration,
                "event_count": rng.randint(1, 30),
                "screen_count": 0,
                "bounced": duration == 0,
                "is_open": rng.random() < 0.1,
                "last_event_name": "tap",
                "first_event_pk": i,
            }
        )
    return out


def oracle(rows: list[dict[str, Any]], by: str) -> list[dict[str, Any]]:
    def key(r: dict[str, Any]) -> str:
        if by == "day":
            return datetime.fromtimestamp(r["started_at"] / 1e6, tz=UTC).date().isoformat()
        if by in ("platform", "app_version"):
            return r[by] or "(none)"
        return "all"

    def summary(group: str, rs: list[dict[str, Any]]) -> dict[str, Any]:
        durations = sorted(r["duration_us"] / 1_000_000 for r in rs)
        rank = max(1, math.ceil(0.9 * len(durations)))
        return {
            "group": group,
            "sessions": len(rs),
            "median_duration_s": round(statistics.median(durations), 3),
            "p90_duration_s": round(durations[rank - 1], 3),
            "events_per_session": round(sum(r["event_count"] for r in rs) / len(rs), 3),
            "bounce_rate": round(sum(1 for r in rs if r["bounced"]) / len(rs), 4),
        }

    if not rows:
        return []
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    out = [] if by == "total" else [summary(k, v) for k, v in sorted(groups.items())]
    return [*out, summary("all", rows)]


def dirty_days(engine: Engine, app_id: int) -> set[int]:
    with engine.connect() as conn:
        return set(
            conn.execute(
                select(SESSION_DAYS_DIRTY.c.day).where(SESSION_DAYS_DIRTY.c.app_id == app_id)
            ).scalars()
        )


def check(engine: Engine, app: int, mine: list[dict[str, Any]]) -> None:
    """Every grouping, over the whole history and over ranges that cut through days
    (with and without a platform), equals the oracle."""
    ranges = [
        (None, None, None),
        (T0 + DAY, T0 + 4 * DAY, "ios"),
        (T0 + DAY // 3, T0 + 4 * DAY + 5 * 3_600_000_000, None),
        (T0 + 2 * DAY + 1, None, None),
        (None, T0 + 3 * DAY - 1, "android"),
        (T0 + 7 * DAY, None, None),
    ]
    for since, until, platform in ranges:
        flt = SessionFilter(app_id=app, since=since, until=until, platform=platform)
        picked = [
            r
            for r in mine
            if (since is None or r["started_at"] >= since)
            and (until is None or r["started_at"] < until)
            and (platform is None or r["platform"] == platform)
        ]
        for by in GROUPINGS:
            got = session_stats(engine, flt, by=by)  # type: ignore[arg-type]
            assert got == oracle(picked, by), (by, since, until, platform)


@pytest.mark.parametrize("n", [1, 2, 7, 400])
def test_stats_equal_a_straightforward_computation(engine: Engine, n: int) -> None:
    rng = random.Random(n)
    app = create_app(engine, "stats").app_id
    other = create_app(engine, "other").app_id
    mine = rows_for(app, rng, n)
    theirs = rows_for(other, rng, 50)
    with engine.begin() as conn:
        conn.execute(insert(SESSIONS), mine + theirs)
    # Every day with sessions is dirty (the triggers): read from sessions.
    assert dirty_days(engine, app) == {r["started_at"] // DAY * DAY for r in mine}
    check(engine, app, mine)
    # The job's rewrite: every day from session_days.
    assert refresh_session_days(engine) == len(
        {(r["app_id"], r["started_at"] // DAY) for r in mine + theirs}
    )
    assert dirty_days(engine, app) == set()
    with engine.connect() as conn:
        stored = {
            whole: conn.execute(
                select(func.sum(SESSION_DAYS.c.sessions)).where(
                    SESSION_DAYS.c.app_id == app,
                    (SESSION_DAYS.c.hour == -1) if whole else (SESSION_DAYS.c.hour >= 0),
                )
            ).scalar()
            for whole in (True, False)
        }
    # Whole-day rows and hour rows each hold every session once.
    assert stored == {True: n, False: n}
    check(engine, app, mine)
    # Changes after the rewrite: a late event's longer session replaces one row, an
    # erasure deletes another, a new session lands on a new day; only their days
    # turn dirty, and the answers stay exact while part comes from either table.
    changed, gone = mine[0], mine[-1]
    with engine.begin() as conn:
        conn.execute(
            update(SESSIONS)
            .where(SESSIONS.c.id == changed["id"])
            .values(duration_us=changed["duration_us"] + 7_000_000, bounced=False)
        )
        if n > 1:
            conn.execute(delete(SESSIONS).where(SESSIONS.c.id == gone["id"]))
        new = {**rows_for(app, rng, 1)[0], "id": f"{app}-new", "started_at": T0 + 8 * DAY}
        conn.execute(insert(SESSIONS), [new])
    changed["duration_us"] += 7_000_000
    changed["bounced"] = False
    if n > 1:
        mine.remove(gone)
    mine.append(new)
    expected = {changed["started_at"] // DAY * DAY, (T0 + 8 * DAY)}
    if n > 1:
        expected.add(gone["started_at"] // DAY * DAY)
    assert dirty_days(engine, app) == expected
    assert dirty_days(engine, other) == set()
    check(engine, app, mine)
    refresh_session_days(engine)
    assert dirty_days(engine, app) == set()
    check(engine, app, mine)


def test_a_day_changed_while_it_is_recomputed_stays_dirty(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job reads a day's sessions, another transaction changes them before the job
    writes: the job must not clear the day (its rows would be stale)."""
    rng = random.Random(5)
    app = create_app(engine, "race").app_id
    mine = rows_for(app, rng, 30)
    with engine.begin() as conn:
        conn.execute(insert(SESSIONS), mine)
    real_raw = days_module._grouped
    target = mine[0]

    def raw_then_change(*args: Any, **kw: Any) -> Any:
        parts = real_raw(*args, **kw)
        if any(day == target["started_at"] // DAY * DAY for day, *_ in parts):
            with engine.begin() as conn:
                conn.execute(
                    update(SESSIONS)
                    .where(SESSIONS.c.id == target["id"])
                    .values(event_count=target["event_count"] + 100)
                )
        return parts

    monkeypatch.setattr(days_module, "_grouped", raw_then_change)
    refresh_session_days(engine)
    monkeypatch.setattr(days_module, "_grouped", real_raw)
    target["event_count"] += 100
    assert dirty_days(engine, app) == {target["started_at"] // DAY * DAY}
    check(engine, app, mine)
    refresh_session_days(engine)
    assert dirty_days(engine, app) == set()
    check(engine, app, mine)


def test_kth_of_sorted_arrays_is_the_kth_of_their_union() -> None:
    rng = random.Random(3)
    for _ in range(200):
        arrays = [
            sorted(rng.choice([0, rng.randrange(10**12)]) for _ in range(rng.randrange(0, 40)))
            for _ in range(rng.randrange(1, 6))
        ]
        union = sorted(v for a in arrays for v in a)
        if not union:
            continue
        for k in {1, len(union), rng.randrange(1, len(union) + 1)}:
            assert kth([unpack(pack(a)) for a in arrays], k) == union[k - 1]


def test_the_migration_marks_the_days_of_existing_sessions(settings: Any) -> None:
    """A database with sessions from before session_days: every day starts dirty, so
    the statistics stay exact until the job has written the rows."""
    engine = make_engine(settings)
    upgrade(engine, "0002_sessions")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO apps (id, name, description, created_at, settings) "
            "VALUES (1, 'old', '', 0, '{}')"
        )
    mine = rows_for(1, random.Random(9), 60)
    with engine.begin() as conn:
        conn.execute(insert(SESSIONS), mine)
    upgrade(engine)
    assert dirty_days(engine, 1) == {r["started_at"] // DAY * DAY for r in mine}
    check(engine, 1, mine)
    refresh_session_days(engine)
    check(engine, 1, mine)
    engine.dispose()


def test_no_sessions_no_rows(engine: Engine) -> None:
    app = create_app(engine, "empty").app_id
    for by in GROUPINGS:
        assert session_stats(engine, SessionFilter(app_id=app), by=by) == []  # type: ignore[arg-type]
