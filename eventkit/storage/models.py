"""The schema. Every table eventkit owns is declared here as an SQLModel class.

Instants are integer microseconds since the epoch (UTC), see ``eventkit.timeutil``.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from eventkit.storage.types import JSONDoc, UUIDBytes

__all__ = [
    "AGGREGATION_STATE",
    "ALERT_DELIVERIES",
    "ALERT_RULES",
    "ALERT_RUNS",
    "ANNOTATIONS",
    "API_KEYS",
    "API_TOKENS",
    "APPS",
    "APP_POLICY_VERSIONS",
    "COHORTS",
    "COHORT_MEMBERS",
    "DEDUP_STATE",
    "EVENTS",
    "EVENT_KEYS",
    "EVENT_SESSIONS",
    "EXPERIMENTS",
    "FLAGS",
    "FLAGS_VERSIONS",
    "FLAG_HISTORY",
    "IDENTITY_LINKS",
    "MEMBERS",
    "MEMBER_APPS",
    "PRIVACY_AUDIT",
    "RELEASE_ISSUES",
    "RELEASE_USER_DAYS",
    "RELEASE_VERSIONS",
    "ROLLUP_COUNTS",
    "ROLLUP_EVENTS_BY_NAME",
    "ROLLUP_FIRST_DAYS",
    "ROLLUP_MEASURES",
    "ROLLUP_MEASURE_VALUES",
    "ROLLUP_USER_DAYS",
    "SESSIONS",
    "SESSION_DAYS",
    "SESSION_DAYS_DIRTY",
    "SESSION_STATE",
    "SHARE_LINKS",
    "TRACKING_PLANS",
    "TRACKING_VIOLATIONS",
    "USER_PROFILES",
    "USER_TOMBSTONES",
    "WEBHOOK_DEADLETTERS",
    "WEB_SESSIONS",
    "AggregationState",
    "AlertDelivery",
    "AlertRule",
    "AlertRun",
    "Annotation",
    "ApiKey",
    "ApiToken",
    "App",
    "AppPolicyVersion",
    "Cohort",
    "CohortMember",
    "DedupState",
    "Event",
    "EventKey",
    "EventSession",
    "Experiment",
    "Flag",
    "FlagHistory",
    "FlagsVersion",
    "IdentityLink",
    "Member",
    "MemberApp",
    "PrivacyAudit",
    "ReleaseIssue",
    "ReleaseUserDay",
    "ReleaseVersion",
    "RollupCount",
    "RollupEventByName",
    "RollupFirstDay",
    "RollupMeasure",
    "RollupMeasureValue",
    "RollupUserDay",
    "Session",
    "SessionDay",
    "SessionDayDirty",
    "SessionState",
    "ShareLink",
    "TrackingPlan",
    "TrackingViolation",
    "UserProfile",
    "UserTombstone",
    "WebSession",
    "WebhookDeadLetter",
    "metadata",
]

metadata = SQLModel.metadata


class App(SQLModel, table=True):
    """A tracked application (one iOS/Android app, or one product across platforms)."""

    __tablename__ = "apps"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    name: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    description: str = Field(default="", sa_column=Column(String(500), nullable=False))
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    settings: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONDoc, nullable=False)
    )


class ApiKey(SQLModel, table=True):
    """An API key. Only a SHA-256 hash is stored; ``prefix`` identifies it in lists."""

    __tablename__ = "api_keys"
    __table_args__ = (Index("ix_api_keys_prefix", "prefix"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    app_id: int = Field(
        sa_column=Column(Integer, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str = Field(sa_column=Column(String(16), nullable=False))  # "write" | "secret"
    prefix: str = Field(sa_column=Column(String(32), nullable=False))
    key_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    revoked_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class Event(SQLModel, table=True):
    """One captured event, in the canonical form every protocol is decoded into.

    Rows are appended in arrival order; ``id`` is the arrival sequence. Uniqueness of
    ``(app_id, event_id)`` lives in ``event_keys`` (see docs/architecture.md).
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_app_ts", "app_id", "ts"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    app_id: int = Field(sa_column=Column(Integer, nullable=False))
    event_id: uuid.UUID = Field(sa_column=Column(UUIDBytes, nullable=False))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    timestamp: int = Field(sa_column=Column(BigInteger, nullable=False))
    sent_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    received_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    ts: int = Field(sa_column=Column(BigInteger, nullable=False))
    user_id: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    anonymous_id: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    session_id: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    platform: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    app_version: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    country: str | None = Field(default=None, sa_column=Column(String(8), nullable=True))
    ip: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    source: str = Field(default="native", sa_column=Column(String(16), nullable=False))
    properties: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONDoc, nullable=False)
    )
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDoc, nullable=False))


class EventKey(SQLModel, table=True):
    """The dedup index: one row per stored ``(app_id, event_id)``, under the time bucket
    of its event (``eventkit.storage.dedup``).

    A separate narrow table (WITHOUT ROWID on SQLite) rather than a unique index on
    ``events``: its entries are 30 bytes, and it stays global when ``events`` is
    partitioned by time on PostgreSQL. The bucket leads the key, so new keys go to the
    pages of the last minutes and the history's pages are left alone.
    """

    __tablename__ = "event_keys"
    __table_args__ = {"sqlite_with_rowid": False}

    bucket: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    event_id: uuid.UUID = Field(sa_column=Column(UUIDBytes, primary_key=True))


class DedupState(SQLModel, table=True):
    """One row: the arrival id up to which ``event_keys`` holds every stored event's key
    (SQLite keeps the keys above it in the writer's memory; PostgreSQL writes every key
    at once and leaves it at 0)."""

    __tablename__ = "dedup_state"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    merged_id: int = Field(sa_column=Column(BigInteger, nullable=False))


class UserProfile(SQLModel, table=True):
    """What is known about an identified user: traits from identify calls."""

    __tablename__ = "user_profiles"

    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    user_id: str = Field(sa_column=Column(String(200), primary_key=True))
    traits: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONDoc, nullable=False))
    first_seen: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_seen: int = Field(sa_column=Column(BigInteger, nullable=False))


class IdentityLink(SQLModel, table=True):
    """An anonymous (device) id linked to a user id by identify."""

    __tablename__ = "identity_links"
    __table_args__ = (UniqueConstraint("app_id", "anonymous_id", name="uq_identity_links"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    app_id: int = Field(sa_column=Column(Integer, nullable=False))
    anonymous_id: str = Field(sa_column=Column(String(200), nullable=False))
    user_id: str = Field(sa_column=Column(String(200), nullable=False))
    linked_at: int = Field(sa_column=Column(BigInteger, nullable=False))


def _table(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


#: Core table handles, for typed SQLAlchemy Core queries.
APPS = _table(App)
API_KEYS = _table(ApiKey)
EVENTS = _table(Event)
EVENT_KEYS = _table(EventKey)
DEDUP_STATE = _table(DedupState)
USER_PROFILES = _table(UserProfile)
IDENTITY_LINKS = _table(IdentityLink)


# --- sessions ---


class Session(SQLModel, table=True):
    """A session: one app, one device (or user), a run of events (docs/sessions.md).

    Written only by the sessions job, never on the ingest path. ``id`` is deterministic
    (uuid5), so recomputing a session from the same events gives the same row.
    """

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_app_started", "app_id", "started_at"),
        Index("ix_sessions_device", "app_id", "device_key", "started_at"),
        Index("ix_sessions_open", "is_open", "last_event_at"),
    )

    id: str = Field(sa_column=Column(String(36), primary_key=True))
    app_id: int = Field(sa_column=Column(Integer, nullable=False))
    #: ``anonymous_id``, or ``user:<user_id>`` for events without one.
    device_key: str = Field(sa_column=Column(String(210), nullable=False))
    #: The client's ``session_id`` when the SDK sent one; None for server-assigned.
    client_session_id: str | None = Field(
        default=None, sa_column=Column(String(200), nullable=True)
    )
    user_id: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    anonymous_id: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    platform: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    app_version: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    started_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_event_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    ended_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    duration_us: int = Field(sa_column=Column(BigInteger, nullable=False))
    event_count: int = Field(sa_column=Column(Integer, nullable=False))
    screen_count: int = Field(sa_column=Column(Integer, nullable=False))
    entry_screen: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    exit_screen: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    bounced: bool = Field(sa_column=Column(Boolean, nullable=False))
    is_open: bool = Field(sa_column=Column(Boolean, nullable=False))
    #: Name of the last event: where the next job run resumes the cut.
    last_event_name: str = Field(sa_column=Column(String(200), nullable=False))
    first_event_pk: int = Field(sa_column=Column(BigInteger, nullable=False))


class EventSession(SQLModel, table=True):
    """Which session each event belongs to, keyed by the event's arrival id.

    A side table rather than an UPDATE of ``events``: the event store stays
    append-only, and the job's lookups (a device's timeline by time) use this narrow
    table's index instead of adding an index to the hot ``events`` table.
    """

    __tablename__ = "event_sessions"
    # One index: every lookup (a device's timeline, a session's events) is by device
    # and time; each extra index would be one more B-tree write per event. It also
    # carries the session, name and screen, so paths read a session's steps from the
    # index alone, without visiting ``events`` (docs/reports.md#paths).
    __table_args__ = (
        Index(
            "ix_event_sessions_timeline",
            "app_id", "device_key", "ts", "session_id", "name", "screen",
        ),
    )  # fmt: skip

    event_pk: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
        )
    )
    app_id: int = Field(sa_column=Column(Integer, nullable=False))
    device_key: str = Field(sa_column=Column(String(210), nullable=False))
    ts: int = Field(sa_column=Column(BigInteger, nullable=False))
    client_session_id: str | None = Field(
        default=None, sa_column=Column(String(200), nullable=True)
    )
    session_id: str | None = Field(default=None, sa_column=Column(String(36), nullable=True))
    #: The event's name and, for ``$screen`` events, its screen name
    #: (``eventkit.sessions.timeline.screen_of``); NULL on rows stored before
    #: migration 0010 until the sessions job has filled them in.
    name: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    screen: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))


class SessionState(SQLModel, table=True):
    """Small key/value state of the sessions job (the ``events.id`` watermark)."""

    __tablename__ = "session_state"

    name: str = Field(sa_column=Column(String(64), primary_key=True))
    value: int = Field(sa_column=Column(BigInteger, nullable=False))


SESSIONS = _table(Session)
EVENT_SESSIONS = _table(EventSession)
SESSION_STATE = _table(SessionState)
# --- flags ---


class Flag(SQLModel, table=True):
    """A feature flag's current definition (``definition`` is a ``FlagSpec`` as JSON)."""

    __tablename__ = "flags"
    __table_args__ = (UniqueConstraint("app_id", "key", name="uq_flags_app_key"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    app_id: int = Field(
        sa_column=Column(Integer, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    )
    key: str = Field(sa_column=Column(String(200), nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    definition: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONDoc, nullable=False)
    )
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: int = Field(sa_column=Column(BigInteger, nullable=False))


class FlagHistory(SQLModel, table=True):
    """One change to a flag: the full definition after it, what, when and by whom."""

    __tablename__ = "flag_history"
    __table_args__ = (Index("ix_flag_history_app_key", "app_id", "flag_key", "version"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    app_id: int = Field(sa_column=Column(Integer, nullable=False))
    flag_key: str = Field(sa_column=Column(String(200), nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    action: str = Field(sa_column=Column(String(32), nullable=False))
    summary: str = Field(default="", sa_column=Column(String(500), nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    at: int = Field(sa_column=Column(BigInteger, nullable=False))
    definition: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONDoc, nullable=False)
    )


class FlagsVersion(SQLModel, table=True):
    """Per app, a counter bumped on every flag change: servers poll it to drop caches."""

    __tablename__ = "flags_versions"

    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    version: int = Field(sa_column=Column(BigInteger, nullable=False))


class Experiment(SQLModel, table=True):
    """An A/B experiment on a flag (``definition`` is an ``ExperimentSpec`` as JSON)."""

    __tablename__ = "experiments"
    __table_args__ = (UniqueConstraint("app_id", "key", name="uq_experiments_app_key"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    app_id: int = Field(
        sa_column=Column(Integer, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False)
    )
    key: str = Field(sa_column=Column(String(200), nullable=False))
    flag_key: str = Field(sa_column=Column(String(200), nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    definition: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONDoc, nullable=False)
    )
    created_at: int = Field(sa_column=Column(BigInteger, nullable=False))
    started_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    stopped_at: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


FLAGS = _table(Flag)
FLAG_HISTORY = _table(FlagHistory)
FLAGS_VERSIONS = _table(FlagsVersion)
EXPERIMENTS = _table(Experiment)
# --- reports ---


class RollupCount(SQLModel, table=True):
    """Event counts per app, period (``h`` hour, ``d`` day), bucket start, name and
    breakdown. ``dim = ''`` rows are the totals; ``dim`` names a column (``platform``,
    ``app_version``, ``country``) or a property (``prop:<key>``). Name ``''`` is every
    event. Maintained incrementally by ``eventkit.aggregation`` (docs/reports.md).
    """

    __tablename__ = "rollup_counts"

    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    period: str = Field(sa_column=Column(String(1), primary_key=True))
    bucket: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    name: str = Field(sa_column=Column(String(200), primary_key=True))
    dim: str = Field(sa_column=Column(String(80), primary_key=True))
    value: str = Field(sa_column=Column(String(200), primary_key=True))
    count: int = Field(sa_column=Column(BigInteger, nullable=False))


class RollupUserDay(SQLModel, table=True):
    """One row per app, event name, actor and UTC day the actor did it (name ``''``:
    any event), with how many times. Exact distinct users over any range of days
    (DAU/WAU/MAU, unique-user trends, retention) are counted from here.
    """

    __tablename__ = "rollup_user_days"
    __table_args__ = {"sqlite_with_rowid": False}

    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    name: str = Field(sa_column=Column(String(200), primary_key=True))
    day: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    actor: str = Field(sa_column=Column(String(200), primary_key=True))
    count: int = Field(sa_column=Column(BigInteger, nullable=False))


class RollupEventByName(SQLModel, table=True):
    """A narrow copy of every event's (app, name, time, arrival id, actor), keyed by
    name and time: funnels read their steps' events here instead of scanning
    ``events`` by time. Written by the rollup job, so ingest pays nothing for it.
    """

    __tablename__ = "rollup_events_by_name"
    __table_args__ = {"sqlite_with_rowid": False}

    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    name: str = Field(sa_column=Column(String(200), primary_key=True))
    ts: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    id: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))


class RollupFirstDay(SQLModel, table=True):
    """The first UTC day each actor did each event (name ``''``: was first seen):
    retention cohorts are a range read on ``first_day`` instead of a scan of every
    user-day."""

    __tablename__ = "rollup_first_days"
    __table_args__ = (
        Index("ix_rollup_first_days_day", "app_id", "name", "first_day"),
        {"sqlite_with_rowid": False},
    )

    app_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    name: str = Field(sa_column=Column(String(200), primary_key=True))
    actor: str = Field(sa_column=Column(String(200), primary_key=True))
    first_day: int = Field(sa_column=Column(BigInteger, nullable=False))


class AggregationState(SQLModel, table=True):
    """The watermark of an aggregation job: every event with ``id <= last_event_id``
    is in the rollups. Advanced in the same transaction as the rollup writes."""

    __tablename__ = "aggregation_state"

    job: str = Field(sa_column=Column(String(64), primary_key=True))
    last_event_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    updated_at: int = Field(sa_column=Column(BigInteger, nullable=False))


ROLLUP_COUNTS = _table(RollupCount)
ROLLUP_USER_DAYS = _table(RollupUserDay)
ROLLUP_EVENTS_BY_NAME = _table(RollupEventByName)
ROLLUP_FIRST_DAYS = _table(RollupFirstDay)
AGGREGATION_STATE = _table(AggregationState)


# The tables of the webhook plugin, tracking plans and privacy (policy_models.py), of
# tokens, cohorts and measure rollups (query_models.py) and of release health,
# annotations and alerts (alerts_models.py), of per-day session statistics
# (session_models.py) and of the browser dashboard (web_models.py)
# are declared in their own modules, so this one stays under 600 lines; they are
# re-exported here.
from eventkit.storage.alerts_models import (  # noqa: E402
    ALERT_DELIVERIES,
    ALERT_RULES,
    ALERT_RUNS,
    ANNOTATIONS,
    RELEASE_ISSUES,
    RELEASE_USER_DAYS,
    RELEASE_VERSIONS,
    AlertDelivery,
    AlertRule,
    AlertRun,
    Annotation,
    ReleaseIssue,
    ReleaseUserDay,
    ReleaseVersion,
)
from eventkit.storage.policy_models import (  # noqa: E402
    APP_POLICY_VERSIONS,
    PRIVACY_AUDIT,
    TRACKING_PLANS,
    TRACKING_VIOLATIONS,
    USER_TOMBSTONES,
    WEBHOOK_DEADLETTERS,
    AppPolicyVersion,
    PrivacyAudit,
    TrackingPlan,
    TrackingViolation,
    UserTombstone,
    WebhookDeadLetter,
)
from eventkit.storage.query_models import (  # noqa: E402
    API_TOKENS,
    COHORT_MEMBERS,
    COHORTS,
    ROLLUP_MEASURE_VALUES,
    ROLLUP_MEASURES,
    ApiToken,
    Cohort,
    CohortMember,
    RollupMeasure,
    RollupMeasureValue,
)
from eventkit.storage.session_models import (  # noqa: E402
    SESSION_DAYS,
    SESSION_DAYS_DIRTY,
    SessionDay,
    SessionDayDirty,
)
from eventkit.storage.web_models import (  # noqa: E402
    MEMBER_APPS,
    MEMBERS,
    SHARE_LINKS,
    WEB_SESSIONS,
    Member,
    MemberApp,
    ShareLink,
    WebSession,
)
