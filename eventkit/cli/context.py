"""Shared CLI state: the settings and a lazily created engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import typer
from sqlalchemy.engine import Engine

from eventkit.config import Settings, load_settings
from eventkit.errors import MigrationError
from eventkit.storage.engine import make_engine
from eventkit.storage.migrate import status

__all__ = ["CliState", "state"]


@dataclass
class CliState:
    """Per-invocation state."""

    config_path: Path | None = None
    _settings: Settings | None = None
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        """Settings, loaded on first use."""
        if self._settings is None:
            self._settings = load_settings(self.config_path)
        return self._settings

    def engine(self, *, check_schema: bool = True) -> Engine:
        """The database engine; by default refuse a database that needs migrating."""
        if self._engine is None:
            self._engine = make_engine(self.settings)
            if check_schema:
                st = status(self._engine)
                if not st.up_to_date:
                    raise MigrationError(
                        f"the database schema is not up to date ({len(st.pending)} pending "
                        "migrations): run `eventkit db upgrade`"
                    )
        return self._engine

    def close(self) -> None:
        """Release the engine's connections (called when the command ends)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def state(ctx: typer.Context) -> CliState:
    """The CliState of this invocation."""
    obj = ctx.find_root().obj
    assert isinstance(obj, CliState)
    return obj
