"""Tables of the webhook plugin's dead letters, tracking plans and privacy
(tombstones, audit) (docs/plugins.md, docs/tracking_plan.md, docs/privacy.md). Part of
the schema declared in ``eventkit.storage.models``, which re-exports them; instants are
integer epoch microseconds."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlmodel import Field, SQLModel

from eventkit.storage.types import JSONDoc

__all__ = [
    "APP_POLICY_VERSIONS",
    "PRIVACY_AUDIT",
    "TRACKING_PLANS",
    "TRACKING_VIOLATIONS",
    "USER_TOMBSTONES",
    "WEBHOOK_DEADLETTERS",
    "AppPolicyVersion",
    "PrivacyAudit",
    "TrackingPlan",
    "TrackingViolation",
    "UserTombstone",
    "WebhookDeadLetter",
]


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


# --- webhook (bundled plugin eventkit_webhook) ---


class WebhookDeadLetter(SQLModel, table=True):
    """A webhook batch that could not be delivered after every retry, kept to be
    replayed with ``eventkit webhook deadletter replay`` (docs/plugins.md)."""

    __tablename__ = "webhook_deadletters"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    url: str = Field(sa_column=Column(String(2000), nullable=False))
    #: The JSON body that was POSTed (``{"events": [...]}``), verbatim.
    payload: str = Field(sa_column=Column(Text, nullable=False))
    event_count: int = Field(sa_column=Column(Integer, nullable=False))
    attempts: int = Field(sa_column=Column(Integer, nullable=False))
    last_error: str = Field(sa_column=Column(String(1000), nullable=False))
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_attempt_at: int = Field(sa_column=Column(BigInteger, nullable=False))


WEBHOOK_DEADLETTERS = _table(WebhookDeadLetter)
# --- tracking plans ---


class AppPolicyVersion(SQLModel, table=True):
    """Per app, a counter bumped by every change to what the ingest pipeline enforces
    (tracking plan and mode, privacy settings, tombstones): each server process polls it
    and reloads only the apps whose counter moved."""

    __tablename__ = "app_policy_versions"

    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    version: int = Field(sa_column=Column(BigInteger, nullable=False))


class TrackingPlan(SQLModel, table=True):
    """An app's tracking plan: event names and the JSON Schema of their properties
    (``plan`` is the normalized plan document, docs/tracking_plan.md)."""

    __tablename__ = "tracking_plans"

    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    plan: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDoc, nullable=False))
    updated_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_by: str = Field(default="", sa_column=Column(String(200), nullable=False))


class TrackingViolation(SQLModel, table=True):
    """How often events broke the plan, by app, event name, kind and property
    (``property`` is '' for event-level kinds). Counted in memory and flushed with
    additive upserts, never one write per event."""

    __tablename__ = "tracking_violations"

    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    event_name: str = Field(sa_column=Column(String(200), primary_key=True))
    kind: str = Field(sa_column=Column(String(32), primary_key=True))
    property: str = Field(sa_column=Column(String(200), primary_key=True))
    count: int = Field(sa_column=Column(BigInteger, nullable=False))
    first_seen: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_seen: int = Field(sa_column=Column(BigInteger, nullable=False))
    example: str = Field(default="", sa_column=Column(String(500), nullable=False))


APP_POLICY_VERSIONS = _table(AppPolicyVersion)
TRACKING_PLANS = _table(TrackingPlan)
TRACKING_VIOLATIONS = _table(TrackingViolation)
# --- privacy ---


class UserTombstone(SQLModel, table=True):
    """A deleted user or device: events carrying it are dropped at ingest. ``subject``
    is a SHA-256 of the app id and the id (docs/privacy.md), never the id itself."""

    __tablename__ = "user_tombstones"

    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    subject: str = Field(sa_column=Column(String(64), primary_key=True))
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class PrivacyAudit(SQLModel, table=True):
    """One privacy action (erasure, access export, settings change, retention purge):
    what, when, by whom and how many rows; the subject only as its hash."""

    __tablename__ = "privacy_audit"
    __table_args__ = (Index("ix_privacy_audit_app_at", "app_id", "at"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    app_id: int = Field(sa_column=Column(Integer, nullable=False))
    action: str = Field(sa_column=Column(String(32), nullable=False))
    subject: str = Field(default="", sa_column=Column(String(64), nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    at: int = Field(sa_column=Column(BigInteger, nullable=False))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDoc, nullable=False))


USER_TOMBSTONES = _table(UserTombstone)
PRIVACY_AUDIT = _table(PrivacyAudit)
