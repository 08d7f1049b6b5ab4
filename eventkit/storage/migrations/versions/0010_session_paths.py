"""session paths: event_sessions carries each event's name and screen, and its index
covers them, so paths read a session's steps from the index without visiting events

Rows stored before this revision keep NULL name and screen; the sessions job fills
them in, oldest first, a batch per run (``eventkit.sessions.backfill``), and
paths read NULL rows' names from ``events`` until then. ``session_state`` keeps the
backfill's cursor and its end (the newest row at upgrade time).

Revision ID: 0010_session_paths
Revises: 0009_session_days
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_session_paths"
down_revision: str | Sequence[str] | None = "0009_session_days"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ["app_id", "device_key", "ts", "session_id", "name", "screen"]


def upgrade() -> None:
    op.add_column("event_sessions", sa.Column("name", sa.String(length=200), nullable=True))
    op.add_column("event_sessions", sa.Column("screen", sa.String(length=200), nullable=True))
    op.create_index("ix_event_sessions_timeline", "event_sessions", _COLUMNS)
    op.drop_index("ix_event_sessions_device_ts", table_name="event_sessions")
    op.execute(
        "INSERT INTO session_state (name, value) "
        "SELECT 'paths_backfill_until', MAX(event_pk) FROM event_sessions "
        "HAVING MAX(event_pk) IS NOT NULL"
    )


def downgrade() -> None:
    op.execute(
        "DELETE FROM session_state WHERE name IN ('paths_backfill', 'paths_backfill_until')"
    )
    op.create_index(
        "ix_event_sessions_device_ts", "event_sessions", ["app_id", "device_key", "ts"]
    )
    op.drop_index("ix_event_sessions_timeline", table_name="event_sessions")
    with op.batch_alter_table("event_sessions") as batch:
        batch.drop_column("screen")
        batch.drop_column("name")
