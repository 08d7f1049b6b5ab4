"""Session statistics (computed in the database: GROUP BY and a window ranking of the
durations) equal a straightforward computation over the same rows in Python, for
every grouping, on SQLite and PostgreSQL, odd and even counts, ties, empty platform
and version, open sessions, and filters."""

from __future__ import annotations

import math
import random
import statistics
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Engine

from eventkit.sessions.queries import GROUPINGS, SessionFilter, session_stats
from eventkit.storage.apps import create_app
from eventkit.storage.models import SESSIONS

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


@pytest.mark.parametrize("n", [1, 2, 7, 400])
def test_stats_equal_a_straightforward_computation(engine: Engine, n: int) -> None:
    rng = random.Random(n)
    app = create_app(engine, "stats").app_id
    other = create_app(engine, "other").app_id
    mine = rows_for(app, rng, n)
    with engine.begin() as conn:
        conn.execute(insert(SESSIONS), mine + rows_for(other, rng, 50))
    for by in GROUPINGS:
        assert session_stats(engine, SessionFilter(app_id=app), by=by) == oracle(mine, by), by  # type: ignore[arg-type]
    # Filters: a time range and a platform.
    since, until = T0 + DAY, T0 + 4 * DAY
    flt = SessionFilter(app_id=app, since=since, until=until, platform="ios")
    picked = [r for r in mine if since <= r["started_at"] < until and r["platform"] == "ios"]
    for by in GROUPINGS:
        assert session_stats(engine, flt, by=by) == oracle(picked, by), by  # type: ignore[arg-type]


def test_no_sessions_no_rows(engine: Engine) -> None:
    app = create_app(engine, "empty").app_id
    for by in GROUPINGS:
        assert session_stats(engine, SessionFilter(app_id=app), by=by) == []  # type: ignore[arg-type]
