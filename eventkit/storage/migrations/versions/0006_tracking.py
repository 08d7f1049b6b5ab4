"""tracking plans: app_policy_versions, tracking_plans, tracking_violations

Revision ID: 0006_tracking
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import eventkit.storage.types

revision: str = "0006_tracking"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "app_policy_versions",
        sa.Column("app_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("app_id"),
    )
    op.create_table(
        "tracking_plans",
        sa.Column("app_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("plan", eventkit.storage.types.JSONDoc(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("app_id"),
    )
    op.create_table(
        "tracking_violations",
        sa.Column("app_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("event_name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("property", sa.String(length=200), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", sa.BigInteger(), nullable=False),
        sa.Column("example", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "event_name", "kind", "property"),
    )


def downgrade() -> None:
    op.drop_table("tracking_violations")
    op.drop_table("tracking_plans")
    op.drop_table("app_policy_versions")
