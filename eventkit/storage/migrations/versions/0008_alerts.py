"""alerts and release health: release rollups, annotations, alert rules, runs and the
delivery outbox (a branch off 0001)

Revision ID: 0008_alerts
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import eventkit.storage.types

revision: str = "0008_alerts"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "release_user_days",
        sa.Column("app_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("app_version", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("crashes", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "day", "app_version", "platform", "actor"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "release_issues",
        sa.Column("event_pk", _PK, autoincrement=False, nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("app_version", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("fatal", sa.Boolean(), nullable=False),
        sa.Column("stack_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("event_pk"),
    )
    op.create_index("ix_release_issues_app_ts", "release_issues", ["app_id", "ts"])
    op.create_table(
        "release_versions",
        sa.Column("app_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("app_version", sa.String(length=64), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("first_seen", sa.BigInteger(), nullable=False),
        sa.Column("detected_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", "app_version", "platform"),
    )
    op.create_table(
        "annotations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("app_id", "key", name="uq_annotations_app_key"),
    )
    op.create_index("ix_annotations_app_ts", "annotations", ["app_id", "ts"])
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("definition", eventkit.storage.types.JSONDoc(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("firing_notified", sa.Boolean(), nullable=False),
        sa.Column("last_notified_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("app_id", "kind", "name", name="uq_alert_rules_name"),
    )
    op.create_table(
        "alert_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("bucket_end", sa.BigInteger(), nullable=False),
        sa.Column("evaluated_at", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("detail", eventkit.storage.types.JSONDoc(), nullable=False),
        sa.Column("node", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["rule_id"], ["alert_rules.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rule_id", "bucket", name="uq_alert_runs_bucket"),
    )
    op.create_index("ix_alert_runs_app_at", "alert_runs", ["app_id", "evaluated_at"])
    op.create_table(
        "alert_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("destination", eventkit.storage.types.JSONDoc(), nullable=False),
        sa.Column("message", eventkit.storage.types.JSONDoc(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_until", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("delivered_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["rule_id"], ["alert_rules.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_deliveries_due", "alert_deliveries", ["status", "next_attempt_at"])
    op.create_index("ix_alert_deliveries_app", "alert_deliveries", ["app_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_alert_deliveries_app", table_name="alert_deliveries")
    op.drop_index("ix_alert_deliveries_due", table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
    op.drop_index("ix_alert_runs_app_at", table_name="alert_runs")
    op.drop_table("alert_runs")
    op.drop_table("alert_rules")
    op.drop_index("ix_annotations_app_ts", table_name="annotations")
    op.drop_table("annotations")
    op.drop_table("release_versions")
    op.drop_index("ix_release_issues_app_ts", table_name="release_issues")
    op.drop_table("release_issues")
    op.drop_table("release_user_days")
