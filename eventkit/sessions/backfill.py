"""Fill in ``event_sessions.name`` and ``screen`` on rows stored before migration
``0010_session_paths`` (rows the job writes since carry them).

Oldest rows first, behind a cursor in ``session_state``, in batches of their own
transactions (ingest writes in between) for at most a couple of seconds per sessions
job run; until a row is filled in, paths read its name from ``events``
(``eventkit.reports.paths``), so answers are the same before, during and after.
"""

from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.sessions.timeline import SCREEN, screen_of
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.types import json_loads

__all__ = ["CURSOR", "UNTIL", "backfill_paths", "backfill_step"]

CURSOR = "paths_backfill"
UNTIL = "paths_backfill_until"


def backfill_paths(engine: Engine, *, budget_seconds: float = 2.0, batch: int = 20_000) -> int:
    """Fill in batches for up to ``budget_seconds``; returns how many rows."""
    deadline = time.monotonic() + budget_seconds
    done = 0
    while True:
        n = backfill_step(engine, batch=batch)
        done += n
        if n < batch or time.monotonic() >= deadline:
            return done


def backfill_step(engine: Engine, *, batch: int = 20_000) -> int:
    """Fill in one batch; returns how many rows (fewer than ``batch``: finished)."""
    with map_db_errors(), writer(engine).connect() as conn, conn.begin():
        state: dict[str, int] = {
            str(name): int(value)
            for name, value in conn.execute(
                text("SELECT name, value FROM session_state WHERE name IN (:c, :u)"),
                {"c": CURSOR, "u": UNTIL},
            )
        }
        until = state.get(UNTIL)
        if until is None:
            return 0
        cursor = int(state.get(CURSOR, 0))
        rows = conn.execute(
            text(
                "SELECT es.event_pk, e.name, e.properties FROM event_sessions es "
                "JOIN events e ON e.id = es.event_pk WHERE es.event_pk > :c "
                "AND es.event_pk <= :u ORDER BY es.event_pk LIMIT :n"
            ),
            {"c": cursor, "u": until, "n": batch},
        ).all()
        if rows:
            conn.execute(
                text(
                    "UPDATE event_sessions SET name = :name, screen = :screen "
                    "WHERE event_pk = :pk"
                ),
                [
                    {"pk": pk, "name": name,
                     "screen": screen_of(_props(props)) if name == SCREEN else None}
                    for pk, name, props in rows
                ],
            )  # fmt: skip
        if len(rows) < batch:
            conn.execute(
                text("DELETE FROM session_state WHERE name IN (:c, :u)"), {"c": CURSOR, "u": UNTIL}
            )
        else:
            conn.execute(
                text(
                    "INSERT INTO session_state (name, value) VALUES (:c, :v) "
                    "ON CONFLICT (name) DO UPDATE SET value = :v"
                ),
                {"c": CURSOR, "v": int(rows[-1][0])},
            )
        return len(rows)


def _props(value: object) -> object:
    return json_loads(value) if isinstance(value, str | bytes) else value
