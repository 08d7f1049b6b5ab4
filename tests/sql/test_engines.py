"""The same query gives the same answer on the database and on DuckDB over the
Parquet mirror, including events that arrived after the last refresh (the tail),
late events, and events deleted after they were mirrored (erasure, retention)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from eventkit.errors import InvalidRequestError
from eventkit.privacy.erasure import delete_user
from eventkit.sql.mirror import read_state, refresh
from eventkit.sql.runner import EngineName, collect, open_query
from eventkit.storage.events import EventStore
from tests.factories import make_event
from tests.sql.conftest import World

QUERIES = [
    "SELECT name, COUNT(*) AS n FROM events GROUP BY name ORDER BY name",
    "SELECT day, COUNT(DISTINCT actor) AS users FROM events GROUP BY day ORDER BY day",
    "SELECT country, SUM(CAST(properties ->> 'amount' AS DOUBLE PRECISION)) AS revenue, "
    "COUNT(DISTINCT actor) AS payers, SUM(CAST(properties ->> 'amount' AS DOUBLE PRECISION)) "
    "/ COUNT(DISTINCT actor) AS per_payer FROM events WHERE name = 'purchase_completed' "
    "GROUP BY country ORDER BY country",
    "SELECT properties ->> 'screen_name' AS screen, COUNT(*) AS views FROM events "
    "WHERE name = '$screen' GROUP BY 1 ORDER BY 2 DESC, 1",
    "SELECT event_id, time, ts / 1000000 AS secs FROM events ORDER BY id LIMIT 5",
    "SELECT actor, name, LAG(name) OVER (PARTITION BY actor ORDER BY ts, id) AS previous "
    "FROM events ORDER BY actor, ts, id",
    "SELECT u.user_id, u.traits ->> 'plan' AS plan, COUNT(e.id) AS events FROM users u "
    "JOIN events e ON e.user_id = u.user_id GROUP BY u.user_id, plan ORDER BY 1",
    "SELECT key, version FROM flags ORDER BY key",
    "SELECT anonymous_id, user_id FROM identities ORDER BY 1",
    "SELECT COUNT(*) AS n FROM exposures",
]


def answer(w: World, sql: str, engine: EngineName) -> list[tuple[Any, ...]]:
    with open_query(w.engine, w.settings, w.a, sql, engine_name=engine) as stream:
        rows = collect(stream)
    return [tuple(_norm(v) for v in r) for r in rows]


def _norm(v: Any) -> Any:
    """Numbers compare as numbers (PostgreSQL and DuckDB give ->> as text)."""
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            return v
    if isinstance(v, float) and math.isfinite(v):
        return round(v, 6)
    return v


def assert_same(w: World) -> None:
    for sql in QUERIES:
        assert answer(w, sql, "database") == answer(w, sql, "duckdb"), sql


def test_same_query_same_answer(world: World) -> None:
    with pytest.raises(InvalidRequestError, match="eventkit mirror refresh"):
        answer(world, "SELECT 1", "duckdb")
    refresh(world.engine, world.settings)
    assert_same(world)


def test_tail_late_events_and_deletions(world: World) -> None:
    refresh(world.engine, world.settings)
    # The tail: arrivals after the refresh, one of them a late event from long ago.
    EventStore(world.engine).write([
        make_event(world.a, "purchase_completed", user_id="u9", country="US",
                   properties={"amount": 100.25}),
        make_event(world.a, "$screen", ts=1_700_000_000_000_000, user_id="u1",
                   properties={"screen_name": "late"}),
    ])  # fmt: skip
    assert answer(world, "SELECT COUNT(*) FROM events", "duckdb") == [(32,)]
    assert_same(world)
    # An erasure deletes mirrored rows: DuckDB answers without them at once (it reads
    # the app from the database), and the next refresh rebuilds the app's parts.
    delete_user(world.engine, world.settings, world.a, "u1", actor="test", wait_seconds=0)
    assert answer(world, "SELECT COUNT(*) FROM events WHERE user_id = 'u1'", "duckdb") == [(0,)]
    assert_same(world)
    result = refresh(world.engine, world.settings)
    assert result.apps_rebuilt == 1
    assert_same(world)
    again = refresh(world.engine, world.settings)
    assert (again.events_added, again.apps_rebuilt) == (0, 0)
    state = read_state(world.settings)
    assert state is not None and state.watermark > 0
