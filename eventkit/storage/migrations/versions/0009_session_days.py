"""session days: per-day session statistics (session_days) and what changed since
(session_days_dirty, kept by triggers on sessions)

Every day that already has sessions starts out dirty: the next sessions job run
computes its row, and until then statistics read those days from ``sessions``.

Revision ID: 0009_session_days
Revises: 0002_sessions
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_session_days"
down_revision: str | Sequence[str] | None = "0002_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DAY = 86_400_000_000


def _day(alias: str) -> str:
    return f"{alias}.started_at - {alias}.started_at % {_DAY}"


def _sqlite_mark(alias: str) -> str:
    return (
        "INSERT INTO session_days_dirty (app_id, day, changes) "
        f"VALUES ({alias}.app_id, {_day(alias)}, 1) "
        "ON CONFLICT (app_id, day) DO UPDATE SET changes = changes + 1;"
    )


#: SQLite: row triggers (cheap in-process). An UPDATE marks only when a column the
#: statistics read changes (closing an idle session does not).
_SQLITE = [
    f"CREATE TRIGGER sessions_days_insert AFTER INSERT ON sessions BEGIN {_sqlite_mark('new')} END",
    f"CREATE TRIGGER sessions_days_delete AFTER DELETE ON sessions BEGIN {_sqlite_mark('old')} END",
    "CREATE TRIGGER sessions_days_update AFTER UPDATE OF app_id, started_at, duration_us, "
    "event_count, bounced, platform, app_version ON sessions "
    f"BEGIN {_sqlite_mark('old')} {_sqlite_mark('new')} END",
]


def _pg_function(name: str, tables: Sequence[str]) -> str:
    union = " UNION ALL ".join(f"SELECT app_id, started_at FROM {t}" for t in tables)
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO session_days_dirty (app_id, day, changes)
    SELECT app_id, {_day("r")}, COUNT(*) FROM ({union}) AS r GROUP BY 1, 2
    ON CONFLICT (app_id, day)
    DO UPDATE SET changes = session_days_dirty.changes + EXCLUDED.changes;
    RETURN NULL;
END $$
"""


#: PostgreSQL: statement triggers over transition tables (one upsert per statement,
#: not per row: a job batch writes thousands of sessions in one statement).
_PG = [
    _pg_function("sessions_days_mark_new", ["new_rows"]),
    _pg_function("sessions_days_mark_old", ["old_rows"]),
    _pg_function("sessions_days_mark_both", ["old_rows", "new_rows"]),
    "CREATE TRIGGER sessions_days_insert AFTER INSERT ON sessions "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION sessions_days_mark_new()",
    "CREATE TRIGGER sessions_days_delete AFTER DELETE ON sessions "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION sessions_days_mark_old()",
    "CREATE TRIGGER sessions_days_update AFTER UPDATE ON sessions "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION sessions_days_mark_both()",
]


def upgrade() -> None:
    op.create_table(
        "session_days",
        sa.Column("app_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("app_version", sa.String(length=64), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("bounced", sa.Integer(), nullable=False),
        sa.Column("first_start", sa.BigInteger(), nullable=False),
        sa.Column("last_start", sa.BigInteger(), nullable=False),
        sa.Column("durations", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "day", "hour", "platform", "app_version"),
    )
    op.create_table(
        "session_days_dirty",
        sa.Column("app_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("changes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "day"),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in _SQLITE if sqlite else _PG:
        op.execute(statement)
    op.execute(
        "INSERT INTO session_days_dirty (app_id, day, changes) "
        f"SELECT app_id, {_day('sessions')}, COUNT(*) FROM sessions GROUP BY 1, 2"
    )


def downgrade() -> None:
    for name in ("insert", "delete", "update"):
        if op.get_bind().dialect.name == "sqlite":
            op.execute(f"DROP TRIGGER sessions_days_{name}")
        else:
            op.execute(f"DROP TRIGGER sessions_days_{name} ON sessions")
    if op.get_bind().dialect.name != "sqlite":
        for fn in ("new", "old", "both"):
            op.execute(f"DROP FUNCTION sessions_days_mark_{fn}()")
    op.drop_table("session_days_dirty")
    op.drop_table("session_days")
