"""Straightforward SQL over the raw events, to check what the screens show."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine


def scalar(engine: Engine, sql: str, **params: Any) -> Any:
    """One value."""
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def rows(engine: Engine, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Every row."""
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params).all()]
