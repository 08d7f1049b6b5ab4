"""Tables of release health, annotations, alert rules, their runs and the delivery
outbox (docs/reports.md#release-health, docs/alerts.md). Part of the schema declared in
``eventkit.storage.models``, which re-exports them; instants are integer epoch
microseconds."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from eventkit.storage.types import JSONDoc

__all__ = [
    "ALERT_DELIVERIES",
    "ALERT_RULES",
    "ALERT_RUNS",
    "ANNOTATIONS",
    "RELEASE_ISSUES",
    "RELEASE_USER_DAYS",
    "RELEASE_VERSIONS",
    "AlertDelivery",
    "AlertRule",
    "AlertRun",
    "Annotation",
    "ReleaseIssue",
    "ReleaseUserDay",
    "ReleaseVersion",
]


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


# --- release health and annotations ---


class ReleaseUserDay(SQLModel, table=True):
    """One row per app, UTC day, app version, platform and actor that was active on
    that version that day: how many events, errors (``$error``/``$crash``) and crashes
    (fatal ones). Crash-free users and adoption are counted from here. Written by the
    release-health job (``eventkit.releases``), never on the ingest path; ``''`` stands
    for an event without a version or platform.
    """

    __tablename__ = "release_user_days"
    __table_args__ = {"sqlite_with_rowid": False}

    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    day: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    app_version: str = Field(sa_column=Column(String(64), primary_key=True))
    platform: str = Field(sa_column=Column(String(32), primary_key=True))
    actor: str = Field(sa_column=Column(String(200), primary_key=True))
    events: int = Field(sa_column=Column(BigInteger, nullable=False))
    errors: int = Field(sa_column=Column(BigInteger, nullable=False))
    crashes: int = Field(sa_column=Column(BigInteger, nullable=False))


class ReleaseIssue(SQLModel, table=True):
    """Every ``$crash`` and ``$error`` event (by arrival id) with its version, platform,
    actor and whether it was fatal: the few rows crash-free sessions join to
    ``event_sessions``, so no report scans ``events`` for them."""

    __tablename__ = "release_issues"
    __table_args__ = (Index("ix_release_issues_app_ts", "app_id", "ts"),)

    event_pk: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
        )
    )
    app_id: int = Field(sa_column=Column(Integer, nullable=False))
    ts: int = Field(sa_column=Column(BigInteger, nullable=False))
    app_version: str = Field(sa_column=Column(String(64), nullable=False))
    platform: str = Field(sa_column=Column(String(32), nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    fatal: bool = Field(sa_column=Column(Boolean, nullable=False))
    stack_hash: str = Field(default="", sa_column=Column(String(64), nullable=False))


class ReleaseVersion(SQLModel, table=True):
    """When each app version was first seen on each platform (the earliest event
    time), kept by the release-health job; a new row also records an annotation."""

    __tablename__ = "release_versions"

    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    app_version: str = Field(sa_column=Column(String(64), primary_key=True))
    platform: str = Field(sa_column=Column(String(32), primary_key=True))
    first_seen: int = Field(sa_column=Column(BigInteger, nullable=False))
    detected_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class Annotation(SQLModel, table=True):
    """A note on the timeline (a release, a campaign, an outage) shown on trend charts.
    ``key`` makes automatic ones idempotent (``release:<platform>:<version>``); manual
    ones have none."""

    __tablename__ = "annotations"
    __table_args__ = (
        UniqueConstraint("app_id", "key", name="uq_annotations_app_key"),
        Index("ix_annotations_app_ts", "app_id", "ts"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    app_id: int = Field(
        sa_column=Column(Integer, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    )
    ts: int = Field(sa_column=Column(BigInteger, nullable=False))
    text: str = Field(sa_column=Column(String(500), nullable=False))
    kind: str = Field(sa_column=Column(String(16), nullable=False))  # "release" | "manual"
    key: str | None = Field(default=None, sa_column=Column(String(120), nullable=True))
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_by: str = Field(default="", sa_column=Column(String(200), nullable=False))


RELEASE_USER_DAYS = _table(ReleaseUserDay)
RELEASE_ISSUES = _table(ReleaseIssue)
RELEASE_VERSIONS = _table(ReleaseVersion)
ANNOTATIONS = _table(Annotation)
# --- alerts and digests ---


class AlertRule(SQLModel, table=True):
    """An alert rule or a digest of one app (``kind``). ``definition`` is the
    validated ``AlertSpec``/``DigestSpec`` as JSON; ``state`` and
    ``firing_notified`` are the evaluator's memory between buckets."""

    __tablename__ = "alert_rules"
    __table_args__ = (UniqueConstraint("app_id", "kind", "name", name="uq_alert_rules_name"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    app_id: int = Field(
        sa_column=Column(Integer, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str = Field(sa_column=Column(String(16), nullable=False))  # "alert" | "digest"
    name: str = Field(sa_column=Column(String(100), nullable=False))
    definition: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONDoc, nullable=False)
    )
    paused: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    state: str = Field(default="ok", sa_column=Column(String(16), nullable=False))
    firing_notified: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    last_notified_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    created_by: str = Field(default="", sa_column=Column(String(200), nullable=False))


class AlertRun(SQLModel, table=True):
    """One evaluation of a rule (or one digest) for one bucket. The unique
    ``(rule_id, bucket)`` is what makes evaluation exactly-once across nodes: the
    node whose insert wins decides and enqueues the notifications, in the same
    transaction."""

    __tablename__ = "alert_runs"
    __table_args__ = (
        UniqueConstraint("rule_id", "bucket", name="uq_alert_runs_bucket"),
        Index("ix_alert_runs_app_at", "app_id", "evaluated_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    rule_id: int = Field(
        sa_column=Column(Integer, ForeignKey("alert_rules.id", ondelete="CASCADE"), nullable=False)
    )
    app_id: int = Field(sa_column=Column(Integer, nullable=False))
    bucket: int = Field(sa_column=Column(BigInteger, nullable=False))
    bucket_end: int = Field(sa_column=Column(BigInteger, nullable=False))
    evaluated_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    #: ok, fired, firing, suppressed, resolved, no_data, sent (digests)
    outcome: str = Field(sa_column=Column(String(16), nullable=False))
    value: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    baseline: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDoc, nullable=False))
    node: str = Field(default="", sa_column=Column(String(200), nullable=False))


class AlertDelivery(SQLModel, table=True):
    """One message to one destination: the outbox. Pending rows are sent by the
    delivery job, retried with backoff, and end ``delivered`` or ``dead`` (the
    dead-letter list, ``eventkit alerts deliveries --dead``)."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        Index("ix_alert_deliveries_due", "status", "next_attempt_at"),
        Index("ix_alert_deliveries_app", "app_id", "created_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    app_id: int = Field(sa_column=Column(Integer, nullable=False))
    rule_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("alert_rules.id", ondelete="SET NULL"), nullable=True),
    )
    run_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    #: fired, resolved, digest, test
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    #: The destination as it was when the message was made (type, target, secret).
    destination: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONDoc, nullable=False)
    )
    #: The rendered message (subject, text, html, slack, webhook bodies).
    message: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDoc, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))  # pending|delivered|dead
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    claimed_until: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    last_error: str = Field(default="", sa_column=Column(String(1000), nullable=False))
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    delivered_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


ALERT_RULES = _table(AlertRule)
ALERT_RUNS = _table(AlertRun)
ALERT_DELIVERIES = _table(AlertDelivery)
