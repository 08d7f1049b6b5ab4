"""sessions: sessions, event_sessions and session_state tables

Revision ID: 0002_sessions
Revises: 0001
Create Date: 2026-11-29 04:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_sessions"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("device_key", sa.String(length=210), nullable=False),
        sa.Column("client_session_id", sa.String(length=200), nullable=True),
        sa.Column("user_id", sa.String(length=200), nullable=True),
        sa.Column("anonymous_id", sa.String(length=200), nullable=True),
        sa.Column("platform", sa.String(length=32), nullable=True),
        sa.Column("app_version", sa.String(length=64), nullable=True),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("last_event_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.Column("duration_us", sa.BigInteger(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
        sa.Column("screen_count", sa.Integer(), nullable=False),
        sa.Column("entry_screen", sa.String(length=200), nullable=True),
        sa.Column("exit_screen", sa.String(length=200), nullable=True),
        sa.Column("bounced", sa.Boolean(), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("last_event_name", sa.String(length=200), nullable=False),
        sa.Column("first_event_pk", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sessions_app_started", "sessions", ["app_id", "started_at"])
    op.create_index("ix_sessions_device", "sessions", ["app_id", "device_key", "started_at"])
    op.create_index("ix_sessions_open", "sessions", ["is_open", "last_event_at"])
    op.create_table(
        "event_sessions",
        sa.Column(
            "event_pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("device_key", sa.String(length=210), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("client_session_id", sa.String(length=200), nullable=True),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint("event_pk"),
    )
    op.create_index(
        "ix_event_sessions_device_ts", "event_sessions", ["app_id", "device_key", "ts"]
    )
    op.create_table(
        "session_state",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("session_state")
    op.drop_index("ix_event_sessions_device_ts", table_name="event_sessions")
    op.drop_table("event_sessions")
    op.drop_index("ix_sessions_open", table_name="sessions")
    op.drop_index("ix_sessions_device", table_name="sessions")
    op.drop_index("ix_sessions_app_started", table_name="sessions")
    op.drop_table("sessions")
