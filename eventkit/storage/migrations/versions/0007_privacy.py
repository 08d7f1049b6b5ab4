"""privacy: user_tombstones, privacy_audit

Revision ID: 0007_privacy
Revises: 0006_tracking
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import eventkit.storage.types

revision: str = "0007_privacy"
down_revision: str | Sequence[str] | None = "0006_tracking"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "user_tombstones",
        sa.Column("app_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "subject"),
    )
    op.create_table(
        "privacy_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("details", eventkit.storage.types.JSONDoc(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_privacy_audit_app_at", "privacy_audit", ["app_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_privacy_audit_app_at", table_name="privacy_audit")
    op.drop_table("privacy_audit")
    op.drop_table("user_tombstones")
