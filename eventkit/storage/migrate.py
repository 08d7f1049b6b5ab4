"""Schema migrations (Alembic), driven from Python so no alembic.ini is needed.

Each feature area may add its own branch of revisions on top of ``0001``; ``upgrade``
always goes to every head.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from eventkit.storage.errors import map_db_errors

__all__ = ["MigrationStatus", "alembic_config", "status", "upgrade"]

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    """An Alembic config pointing at eventkit's migration scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    return cfg


@dataclass(frozen=True)
class MigrationStatus:
    """Where the database stands against the migration scripts."""

    current: tuple[str, ...]
    heads: tuple[str, ...]
    pending: tuple[str, ...]

    @property
    def up_to_date(self) -> bool:
        """True when every head is applied."""
        return not self.pending and set(self.current) == set(self.heads)


def status(engine: Engine) -> MigrationStatus:
    """Read the applied revisions and list the pending ones."""
    script = ScriptDirectory.from_config(alembic_config())
    with map_db_errors(), engine.connect() as conn:
        current = tuple(sorted(MigrationContext.configure(conn).get_current_heads()))
    heads = tuple(sorted(script.get_heads()))
    applied: set[str] = set()
    for rev in current:
        applied.update(r.revision for r in script.iterate_revisions(rev, "base"))
    pending = tuple(
        r.revision for r in reversed(list(script.walk_revisions())) if r.revision not in applied
    )
    return MigrationStatus(current=current, heads=heads, pending=pending)


def upgrade(engine: Engine, target: str = "heads") -> MigrationStatus:
    """Apply pending migrations up to ``target`` (every head by default)."""
    cfg = alembic_config()
    with map_db_errors(), engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, target)
    return status(engine)
