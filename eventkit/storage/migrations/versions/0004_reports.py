"""reports: rollup tables and the aggregation watermark

Revision ID: 0004_reports
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_reports"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rollup_counts",
        sa.Column("app_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("period", sa.String(length=1), nullable=False),
        sa.Column("bucket", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("dim", sa.String(length=80), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "period", "bucket", "name", "dim", "value"),
    )
    op.create_table(
        "rollup_user_days",
        sa.Column("app_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("day", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "name", "day", "actor"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_events_by_name",
        sa.Column("app_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "name", "ts", "id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_first_days",
        sa.Column("app_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("first_day", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "name", "actor"),
        sqlite_with_rowid=False,
    )
    op.create_index(
        "ix_rollup_first_days_day", "rollup_first_days", ["app_id", "name", "first_day"]
    )
    op.create_table(
        "aggregation_state",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("job"),
    )


def downgrade() -> None:
    op.drop_table("aggregation_state")
    op.drop_table("rollup_events_by_name")
    op.drop_index("ix_rollup_first_days_day", table_name="rollup_first_days")
    op.drop_table("rollup_first_days")
    op.drop_table("rollup_user_days")
    op.drop_table("rollup_counts")
