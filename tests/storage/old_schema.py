"""Writes as the store did before migration 0008 (event_keys without buckets), for
tests that start a database at an older revision."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, text
from sqlalchemy.engine import Engine

from eventkit.capture.schema import CanonicalEvent, as_dict
from eventkit.storage.models import EVENTS

__all__ = ["write_at_0001"]


def write_at_0001(engine: Engine, events: Sequence[CanonicalEvent]) -> None:
    """Store events and their ``(app_id, event_id)`` keys in the 0001 schema."""
    with engine.begin() as conn:
        for e in events:
            values = {f: getattr(e, f) for f in e.__struct_fields__}
            values["properties"] = as_dict(e.properties)
            values["context"] = as_dict(e.context)
            conn.execute(insert(EVENTS).values(**values))
            conn.execute(
                text("INSERT INTO event_keys (app_id, event_id) VALUES (:a, :e)"),
                {
                    "a": e.app_id,
                    "e": e.event_id if conn.dialect.name != "sqlite" else e.event_id.bytes,
                },
            )
