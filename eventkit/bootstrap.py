"""First start: create the default app when the database has none."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from eventkit.storage.apps import NewKeys, create_app
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import APPS

__all__ = ["ensure_default_app"]


def ensure_default_app(engine: Engine, name: str) -> NewKeys | None:
    """Create app ``name`` if no app exists yet; return its new keys (shown once)."""
    with map_db_errors(), engine.connect() as conn:
        count = conn.execute(select(func.count()).select_from(APPS)).scalar_one()
    if count:
        return None
    return create_app(engine, name, "created on first start")
