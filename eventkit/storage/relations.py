"""The relations the SQL interface exposes (docs/sql.md), one definition per engine.

Each relation is a view over eventkit's tables, filtered to one app with a literal
app id. The SQL sandbox (``eventkit.storage.sandbox``) installs them as temporary
views, so a query sees its own app's rows of these relations and nothing else: not
other apps, not keys, tokens or members. DuckDB reads the same columns from the
Parquet mirror (``eventkit.sql.mirror``), whose files hold the base tables' columns;
the derived columns (``time``, ``day``, ``actor``, …) are computed here per engine so
every engine gives the same answer to the same query.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RELATIONS", "Col", "Relation", "relation", "view_sql"]

Dialect = str  # "sqlite" | "postgresql" | "duckdb"

_UUID_SQLITE = (
    "lower(substr(hex({c}),1,8)||'-'||substr(hex({c}),9,4)||'-'||substr(hex({c}),13,4)"
    "||'-'||substr(hex({c}),17,4)||'-'||substr(hex({c}),21))"
)


_DIALECTS = ("sqlite", "postgresql", "duckdb")


def _all(text: str) -> dict[Dialect, str]:
    """The same text on every engine."""
    return dict.fromkeys(_DIALECTS, text)


def _time(col: str) -> dict[Dialect, str]:
    return {
        "sqlite": f"strftime('%Y-%m-%dT%H:%M:%SZ', {col} / 1000000, 'unixepoch')",
        "postgresql": f"to_char(to_timestamp({col} / 1000000) AT TIME ZONE 'UTC', "
        '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\')',
        "duckdb": f"strftime(make_timestamp({col}), '%Y-%m-%dT%H:%M:%SZ')",
    }


def _day(col: str) -> dict[Dialect, str]:
    return {
        "sqlite": f"date({col} / 1000000, 'unixepoch')",
        "postgresql": f"to_char(to_timestamp({col} / 1000000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        "duckdb": f"strftime(make_timestamp({col}), '%Y-%m-%d')",
    }


def _flag(col: str) -> dict[Dialect, str]:
    return {"postgresql": f"CAST({col} AS INTEGER)", "duckdb": f"CAST({col} AS INTEGER)"}


def _prop(key: str) -> dict[Dialect, str]:
    return {
        "sqlite": f"json_extract(properties, '$.\"{key}\"')",
        "postgresql": f"(properties->>'{key}')",
        "duckdb": f"json_extract_string(properties, '$.\"{key}\"')",
    }


@dataclass(frozen=True)
class Col:
    """A column: its name, what it holds, and its expression per engine (the plain
    column of the same name where an engine has none)."""

    name: str
    doc: str
    exprs: dict[Dialect, str] | None = None

    def sql(self, dialect: Dialect) -> str:
        """The SELECT-list entry for ``dialect``."""
        expr = (self.exprs or {}).get(dialect)
        return f"{expr} AS {self.name}" if expr else self.name


@dataclass(frozen=True)
class Relation:
    """A relation: ``source`` is the FROM/WHERE per engine, with ``{app}`` for the app
    id and ``{schema}`` for the schema of eventkit's tables."""

    name: str
    doc: str
    source: dict[Dialect, str]
    columns: tuple[Col, ...]
    #: The base tables a query of this relation reads (the mirror exports these).
    tables: tuple[str, ...]


_ACTOR = "COALESCE(user_id, anonymous_id)"
_EVENT_WHERE = "FROM {schema}events WHERE app_id = {app}"

EVENTS = Relation(
    name="events",
    doc="Every stored event of the app, one row per event (deduplicated).",
    source=_all(_EVENT_WHERE),
    columns=(
        Col("id", "Arrival sequence (a later event has a larger id)."),
        Col(
            "event_id",
            "The client's event id (UUID text).",
            {"sqlite": _UUID_SQLITE.format(c="event_id"), "postgresql": "CAST(event_id AS TEXT)"},
        ),
        Col("name", "Event name, e.g. $screen or purchase_completed."),
        Col("ts", "When it happened: epoch microseconds, clock-skew corrected."),
        Col("time", "ts as UTC text, to the second: 2026-06-30T12:00:00Z.", _time("ts")),
        Col("day", "ts's UTC date: 2026-06-30.", _day("ts")),
        Col("timestamp", "The client's own timestamp (epoch µs), before correction."),
        Col("received_at", "When the server received it (epoch µs)."),
        Col("user_id", "The identified user, or NULL."),
        Col("anonymous_id", "The device id, or NULL."),
        Col(
            "actor",
            "user_id, else anonymous_id: who did it.",
            _all(_ACTOR),
        ),
        Col("session_id", "The client's session id, or NULL (see the sessions relation)."),
        Col("platform", "ios, android, …"),
        Col("app_version", "The app's version."),
        Col("country", "ISO country code, when known."),
        Col("source", "The protocol that carried it: native, segment, posthog, …"),
        Col("properties", "The event's properties (JSON): properties ->> 'amount'."),
        Col("context", "Device and app context (JSON): context -> 'os' ->> 'name'."),
    ),
    tables=("events",),
)

SESSIONS = Relation(
    name="sessions",
    doc="Sessions as the sessions job computed them (docs/sessions.md).",
    source=_all("FROM {schema}sessions WHERE app_id = {app}"),
    columns=(
        Col("id", "Session id (deterministic UUID)."),
        Col("client_session_id", "The client's session id, or NULL for a server session."),
        Col("user_id", "The last user id seen in the session."),
        Col("anonymous_id", "The device id."),
        Col(
            "actor",
            "user_id, else anonymous_id.",
            _all(_ACTOR),
        ),
        Col("platform", "Platform of the first event that has one."),
        Col("app_version", "App version of the first event that has one."),
        Col("started_at", "First event's ts (epoch µs)."),
        Col("last_event_at", "Last event's ts (epoch µs)."),
        Col("ended_at", "When it closed (epoch µs), NULL while open."),
        Col("duration_us", "last_event_at - started_at."),
        Col("event_count", "Events in the session."),
        Col("screen_count", "$screen events in the session."),
        Col("entry_screen", "First screen viewed."),
        Col("exit_screen", "Last screen viewed."),
        Col("bounced", "1 if it bounced, else 0.", _flag("bounced")),
        Col("is_open", "1 while open, else 0.", _flag("is_open")),
    ),
    tables=("sessions",),
)

USERS = Relation(
    name="users",
    doc="User profiles: traits from identify calls.",
    source=_all("FROM {schema}user_profiles WHERE app_id = {app}"),
    columns=(
        Col("user_id", "The user id."),
        Col("traits", "The user's traits (JSON): traits ->> 'plan'."),
        Col("first_seen", "First identify or event (epoch µs)."),
        Col("last_seen", "Latest identify (epoch µs)."),
    ),
    tables=("user_profiles",),
)

IDENTITIES = Relation(
    name="identities",
    doc="Devices linked to users by identify.",
    source=_all("FROM {schema}identity_links WHERE app_id = {app}"),
    columns=(
        Col("anonymous_id", "The device id."),
        Col("user_id", "The user it was linked to."),
        Col("linked_at", "When (epoch µs)."),
    ),
    tables=("identity_links",),
)

EXPOSURES = Relation(
    name="exposures",
    doc="Feature-flag exposures ($feature_flag_called events), one per user, flag, "
    "variant and day.",
    source=_all("FROM {schema}events WHERE app_id = {app} AND name = '$feature_flag_called'"),
    columns=(
        Col("ts", "When (epoch µs)."),
        Col("time", "ts as UTC text.", _time("ts")),
        Col("day", "ts's UTC date.", _day("ts")),
        Col("user_id", "The user, or NULL."),
        Col("anonymous_id", "The device, or NULL."),
        Col(
            "actor",
            "user_id, else anonymous_id.",
            _all(_ACTOR),
        ),
        Col("flag", "The flag's key.", _prop("$feature_flag")),
        Col("variant", "The variant served.", _prop("$feature_flag_variant")),
        Col(
            "reason", "Why that variant (rule, rollout, default, …).", _prop("$feature_flag_reason")
        ),
    ),
    tables=("events",),
)

FLAGS = Relation(
    name="flags",
    doc="Feature flags' current definitions.",
    source=_all("FROM {schema}flags WHERE app_id = {app}"),
    columns=(
        Col("key", "The flag's key."),
        Col("version", "Bumped by every change."),
        Col("definition", "The whole definition (JSON): definition ->> 'enabled'."),
        Col("created_at", "Epoch µs."),
        Col("updated_at", "Epoch µs."),
    ),
    tables=("flags",),
)

COHORTS = Relation(
    name="cohorts",
    doc="Saved cohorts (docs/reports.md#cohorts).",
    source=_all("FROM {schema}cohorts WHERE app_id = {app}"),
    columns=(
        Col("name", "The cohort's name."),
        Col("description", "What it is for."),
        Col("definition", "Its definition (JSON)."),
        Col("member_count", "Members at the last refresh."),
        Col("refreshed_at", "Last refresh (epoch µs), NULL before the first."),
    ),
    tables=("cohorts",),
)

COHORT_MEMBERS = Relation(
    name="cohort_members",
    doc="Who is in each cohort (as of its last refresh).",
    source=_all(
        "FROM {schema}cohort_members m JOIN {schema}cohorts c ON c.id = m.cohort_id "
        "WHERE c.app_id = {app}"
    ),
    columns=(
        Col(
            "cohort",
            "The cohort's name.",
            _all("c.name"),
        ),
        Col(
            "actor",
            "The member: a user id, else a device id.",
            _all("m.actor"),
        ),
        Col(
            "joined_at",
            "When they were first found in it (epoch µs).",
            _all("m.joined_at"),
        ),
    ),
    tables=("cohorts", "cohort_members"),
)

RELATIONS: tuple[Relation, ...] = (
    EVENTS,
    SESSIONS,
    USERS,
    IDENTITIES,
    EXPOSURES,
    FLAGS,
    COHORTS,
    COHORT_MEMBERS,
)


def relation(name: str) -> Relation:
    """The relation called ``name``."""
    for r in RELATIONS:
        if r.name == name:
            return r
    raise KeyError(name)


def view_sql(rel: Relation, dialect: Dialect, app_id: int, schema: str = "") -> str:
    """The SELECT behind ``rel`` for one app on ``dialect``. ``schema`` qualifies the
    base tables (``main.``, ``"public".``); the app id is an int, never text."""
    cols = ", ".join(c.sql(dialect) for c in rel.columns)
    source = rel.source[dialect].format(schema=schema, app=int(app_id))
    return f"SELECT {cols} {source}"
