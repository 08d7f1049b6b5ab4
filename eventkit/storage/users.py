"""User profiles and identity links, maintained by identify calls."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from eventkit.storage.errors import map_db_errors
from eventkit.storage.types import json_dumps, json_loads

__all__ = ["ProfileOp", "apply_profile_ops", "get_profile"]


@dataclass(frozen=True)
class ProfileOp:
    """One identify: link ``anonymous_id`` to ``user_id`` and update traits.

    Applied only when its ``$identify`` event (``event_id``) is new, so a retried
    identify changes nothing twice.
    """

    app_id: int
    user_id: str
    event_id: uuid.UUID
    at: int
    anonymous_id: str | None = None
    set: dict[str, Any] = field(default_factory=dict)
    set_once: dict[str, Any] = field(default_factory=dict)


_SELECT = text(
    "SELECT traits, first_seen, last_seen FROM user_profiles "
    "WHERE app_id = :app_id AND user_id = :user_id"
)
_UPSERT = text(
    "INSERT INTO user_profiles (app_id, user_id, traits, first_seen, last_seen) "
    "VALUES (:app_id, :user_id, :traits, :first_seen, :last_seen) "
    "ON CONFLICT (app_id, user_id) DO UPDATE SET traits = excluded.traits, "
    "first_seen = excluded.first_seen, last_seen = excluded.last_seen"
)
_LINK = text(
    "INSERT INTO identity_links (app_id, anonymous_id, user_id, linked_at) "
    "VALUES (:app_id, :anonymous_id, :user_id, :at) "
    "ON CONFLICT (app_id, anonymous_id) DO UPDATE SET user_id = excluded.user_id, "
    "linked_at = excluded.linked_at"
)


def _traits_param(conn: Connection, traits: dict[str, Any]) -> Any:
    if conn.dialect.name == "postgresql":
        from psycopg.types.json import Jsonb

        return Jsonb(traits)
    return json_dumps(traits)


def apply_profile_ops(
    conn: Connection,
    ops: Sequence[ProfileOp],
    new_event_ids: set[tuple[int, uuid.UUID]],
) -> None:
    """Apply identify operations inside the caller's transaction, in order.

    ``set`` overwrites traits; ``set_once`` only fills traits not yet present.
    """
    for op in ops:
        if (op.app_id, op.event_id) not in new_event_ids:
            continue
        row = conn.execute(_SELECT, {"app_id": op.app_id, "user_id": op.user_id}).first()
        if row is None:
            traits: dict[str, Any] = {}
            first, last = op.at, op.at
        else:
            stored = row[0]
            traits = json_loads(stored) if isinstance(stored, str | bytes) else dict(stored)
            first, last = min(row[1], op.at), max(row[2], op.at)
        for key, value in op.set_once.items():
            traits.setdefault(key, value)
        traits.update(op.set)
        conn.execute(
            _UPSERT,
            {
                "app_id": op.app_id,
                "user_id": op.user_id,
                "traits": _traits_param(conn, traits),
                "first_seen": first,
                "last_seen": last,
            },
        )
        if op.anonymous_id:
            conn.execute(
                _LINK,
                {
                    "app_id": op.app_id,
                    "anonymous_id": op.anonymous_id,
                    "user_id": op.user_id,
                    "at": op.at,
                },
            )


def get_profile(engine: Engine, app_id: int, user_id: str) -> dict[str, Any] | None:
    """A user's profile with linked anonymous ids, or None."""
    with map_db_errors(), engine.connect() as conn:
        row = conn.execute(_SELECT, {"app_id": app_id, "user_id": user_id}).first()
        if row is None:
            return None
        links = (
            conn.execute(
                text(
                    "SELECT anonymous_id FROM identity_links WHERE app_id = :a AND user_id = :u "
                    "ORDER BY linked_at"
                ),
                {"a": app_id, "u": user_id},
            )
            .scalars()
            .all()
        )
    traits = json_loads(row[0]) if isinstance(row[0], str | bytes) else row[0]
    return {
        "user_id": user_id,
        "traits": traits,
        "first_seen": row[1],
        "last_seen": row[2],
        "anonymous_ids": list(links),
    }
