"""The sections of eventkit's settings, one pydantic model per ``[table]`` of
``eventkit.toml``; :class:`eventkit.config.Settings` puts them together. Every key is
documented in ``config.example.toml`` and ``docs/configuration.md``."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "VENDORS",
    "AggregationSettings",
    "CohortSettings",
    "CompatSettings",
    "CorsSettings",
    "IngestSettings",
    "IpPolicy",
    "LimitSettings",
    "LogSettings",
    "PartitionSettings",
    "PluginSettings",
    "PrivacySettings",
    "RateLimitSettings",
    "SchedulerSettings",
    "ServerSettings",
    "SessionSettings",
    "SessionTimeouts",
    "SpoolSettings",
    "SqlSettings",
    "SqliteSettings",
    "TlsSettings",
    "TrackingSettings",
    "Vendor",
    "WebSettings",
]


def _name_list(cls: Any, value: Any) -> Any:
    """A list setting given as one string (environment variables): ``a,b`` or JSON."""
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return json.loads(text)
        return [n.strip() for n in text.split(",") if n.strip()]
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ServerSettings(_Section):
    """How ``eventkit serve`` listens."""

    host: str = Field("127.0.0.1", description="Address to bind; 0.0.0.0 for all interfaces.")
    port: int = Field(8000, ge=1, le=65535, description="TCP port.")
    server: Literal["granian", "uvicorn"] = Field(
        "granian", description="ASGI server. granian measured fastest (docs/performance.md)."
    )
    workers: int = Field(
        1, ge=1, le=64, description="Server processes. One writer per process; 1 is best on SQLite."
    )
    public_url: str = Field(
        "",
        description="URL printed for clients to send events to; derived from host:port if empty.",
    )
    max_request_bytes: int = Field(
        10 * 1024 * 1024, ge=1024, description="Largest request body accepted on the wire."
    )
    gil_switch_interval_us: int = Field(
        200,
        ge=50,
        le=100_000,
        description="CPython's GIL switch interval in each server worker and the writer "
        "process (default 5000).",
    )


class LogSettings(_Section):
    """Logging."""

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = Field("text", description="json for log shippers.")
    access_log: bool = Field(False, description="Log every HTTP request.")


class LimitSettings(_Section):
    """Capture limits. Each one is answered with a 4xx body naming the limit."""

    max_body_bytes: int = Field(
        5 * 1024 * 1024, ge=1024, description="Largest body after decompression."
    )
    max_batch_events: int = Field(1000, ge=1, le=100_000, description="Events in one batch.")
    max_properties_bytes: int = Field(
        32 * 1024, ge=64, description="Encoded size of one event's properties (and context)."
    )
    max_property_depth: int = Field(
        5, ge=1, le=64, description="Nesting depth of objects and arrays in properties."
    )
    # At most 200: the width of the name and id columns.
    max_name_length: int = Field(
        200, ge=1, le=200, description="Characters in an event name (at most 200)."
    )
    max_id_length: int = Field(
        200, ge=8, le=200, description="Characters in a user/anon/session id (at most 200)."
    )
    max_future_seconds: int = Field(
        3600, ge=0, description="How far past receipt a (skew-corrected) timestamp may be."
    )
    max_past_days: int = Field(
        0, ge=0, description="Reject events older than this many days; 0 keeps everything."
    )


class IngestSettings(_Section):
    """The group-commit writer."""

    flush_max_events: int = Field(
        10_000, ge=1, description="Most events written in one transaction."
    )
    queue_max_events: int = Field(
        200_000, ge=1, description="Events waiting for the writer before capture answers 503."
    )
    commit_timeout_seconds: float = Field(
        30.0, gt=0, description="How long a request waits for its commit before answering 503."
    )
    writer: Literal["process", "thread"] = Field(
        "process",
        description="serve commits in a writer process (its own core and GIL; shared by all "
        "workers) or in a thread of each worker.",
    )
    dedup_memory_keys: int = Field(
        100_000,
        ge=1,
        description="SQLite: dedup keys of the newest events the writer holds in memory "
        "(~90 bytes each) before merging them into event_keys in one sorted run.",
    )


class SqliteSettings(_Section):
    """SQLite tuning (ignored on PostgreSQL)."""

    synchronous: Literal["full", "normal"] = Field(
        "full", description="full: a commit survives power loss; normal: only a process crash."
    )
    cache_size_mb: int = Field(256, ge=2, description="Page cache per connection.")
    busy_timeout_ms: int = Field(10_000, ge=0, description="Wait for a lock before failing.")
    mmap_size_mb: int = Field(256, ge=0, description="Memory-mapped I/O; 0 disables.")


class SchedulerSettings(_Section):
    """The background job loop started by ``eventkit serve``."""

    enabled: bool = Field(True, description="Run scheduled jobs in this process.")


class SessionTimeouts(_Section):
    """Session timeouts for one platform (``[sessions.platforms.ios]``); unset keys fall
    back to the ``[sessions]`` values."""

    inactivity_minutes: float | None = Field(None, gt=0, description="Inactivity gap.")
    max_length_hours: float | None = Field(None, gt=0, description="Longest session.")
    background_minutes: float | None = Field(
        None, ge=0, description="Gap after $app_background; 0 turns the rule off."
    )


class SessionSettings(_Section):
    """Server-side sessionization (docs/sessions.md)."""

    enabled: bool = Field(True, description="Run the sessions job in the scheduler loop.")
    inactivity_minutes: float = Field(
        30.0, gt=0, description="A gap longer than this between events starts a new session."
    )
    max_length_hours: float = Field(
        24.0, gt=0, description="A session is cut when it has lasted this long."
    )
    background_minutes: float = Field(
        0.0, ge=0, description="Gap after $app_background that starts a new session; 0: off."
    )
    bounce_seconds: float = Field(
        10.0, ge=0, description="A session with at most one screen shorter than this bounced."
    )
    job_interval_seconds: float = Field(60.0, gt=0, description="How often the sessions job runs.")
    batch_events: int = Field(5000, ge=1, description="New events sessionized per job transaction.")
    settle_seconds: float = Field(
        60.0, ge=0, description="How long a gap in arrival ids may be an uncommitted write."
    )
    subprocess: bool = Field(
        True, description="Run the job in a child process, off the server's GIL."
    )
    job_nice: int = Field(
        10, ge=0, le=19, description="CPU niceness of the job's child process (0: as the server)."
    )
    platforms: dict[str, SessionTimeouts] = Field(
        default_factory=dict, description="Per-platform timeouts, e.g. platforms.ios."
    )


class AggregationSettings(_Section):
    """Background rollups for reports (docs/reports.md)."""

    enabled: bool = Field(True, description="Run the rollup job in the scheduler loop.")
    interval_seconds: float = Field(60.0, gt=0, description="Seconds between rollup runs.")
    batch_events: int = Field(
        500_000, ge=1000, description="Most new events folded into the rollups per transaction."
    )
    settle_seconds: float = Field(
        10.0,
        ge=0,
        description="PostgreSQL only: leave events received this recently for the next run, "
        "so a transaction that commits late is never skipped.",
    )
    breakdown_properties: list[str] = Field(
        default_factory=lambda: ["screen_name"],
        description="Event properties rolled up as breakdowns besides platform, app_version "
        "and country.",
    )
    measure_properties: list[str] = Field(
        default_factory=list,
        description="Numeric event properties rolled up as measures (sum, average, "
        'percentiles, per user), e.g. ["amount"]; others are measured from raw events.',
    )

    # EVENTKIT_AGGREGATION__MEASURE_PROPERTIES=amount,price (or a JSON list).
    _measures = field_validator("measure_properties", mode="before")(_name_list)


class PluginSettings(_Section):
    """Plugins (docs/plugins.md). Besides these keys, each plugin reads its options from
    a table of its own name, e.g. ``[plugins.geoip]``."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    dir: str = Field(
        "", description="plugins_dir: a directory whose .py files are loaded as plugins."
    )
    enable: list[str] = Field(
        default_factory=list,
        description="Plugins that are off by default to turn on, by name (e.g. geoip).",
    )
    disable: list[str] = Field(
        default_factory=list,
        description="Plugins not to load, by name (wins over enable).",
    )
    sink_queue_batches: int = Field(
        1000,
        ge=1,
        description="Stored batches waiting per sink before new ones are dropped (counted).",
    )

    # EVENTKIT_PLUGINS__ENABLE=geoip,webhook (or a JSON list) from the environment.
    _names = field_validator("enable", "disable", mode="before")(_name_list)

    @model_validator(mode="after")
    def _check_tables(self) -> PluginSettings:
        for key, value in (self.model_extra or {}).items():
            if not isinstance(value, dict):
                raise ValueError(
                    f"{key}: unknown key; plugin options go in a table of the plugin's "
                    f"name, e.g. [plugins.{key}]"
                )
        return self

    def options(self, plugin: str) -> dict[str, Any]:
        """The ``[plugins.<plugin>]`` table (empty when absent)."""
        value = (self.model_extra or {}).get(plugin, {})
        return dict(value) if isinstance(value, dict) else {}


Vendor = Literal["segment", "posthog", "amplitude", "mixpanel"]
VENDORS: tuple[Vendor, ...] = ("segment", "posthog", "amplitude", "mixpanel")


class CompatSettings(_Section):
    """Wire compatibility with existing SDKs (docs/integration_guide.md)."""

    vendors: list[Vendor] = Field(
        default_factory=lambda: list(VENDORS),
        description="Vendor protocols served, each under /<vendor>.",
    )

    # EVENTKIT_COMPAT__VENDORS=segment,posthog (or a JSON list) from the environment.
    _vendors = field_validator("vendors", mode="before")(_name_list)


class TlsSettings(_Section):
    """HTTPS served by ``eventkit serve`` itself (or use a reverse proxy)."""

    cert_file: str = Field("", description="PEM certificate chain; with key_file, serve HTTPS.")
    key_file: str = Field("", description="PEM private key of cert_file.")

    @property
    def enabled(self) -> bool:
        """True when both files are set."""
        return bool(self.cert_file and self.key_file)


class TrackingSettings(_Section):
    """Tracking plans (docs/tracking_plan.md)."""

    refresh_seconds: float = Field(
        1.0, ge=0, description="How often a server checks for a changed plan or plan mode."
    )
    flush_seconds: float = Field(
        5.0, ge=0, description="How often a server writes its violation counts to the database."
    )


IpPolicy = Literal["drop", "anonymize", "keep"]


class PrivacySettings(_Section):
    """Privacy defaults; each app may override them (docs/privacy.md)."""

    ip: IpPolicy = Field(
        "anonymize",
        description="Client IP of apps without their own setting: drop, anonymize "
        "(IPv4 /24, IPv6 /48) or keep.",
    )
    retention_days: int = Field(
        0,
        ge=0,
        description="Raw events of apps without their own setting are purged after "
        "this many days; 0 keeps them.",
    )
    scrub: list[str] = Field(
        default_factory=list,
        description="Property scrubbing rules for every app, as PATTERN=drop|hash "
        '(e.g. "*email*=hash"); apps add their own.',
    )
    hash_key: str = Field(
        "",
        description="Secret mixed into hashed property values (scrub rules with hash); set "
        "a long random string so hashes cannot be reversed by guessing.",
    )
    refresh_seconds: float = Field(
        1.0, ge=0, description="How often a server checks for changed settings and tombstones."
    )
    propagation_seconds: float = Field(
        3.0,
        ge=0,
        description="users delete waits this long between writing the tombstone and "
        "deleting, so every server drops the user's new events first.",
    )
    purge_interval_hours: float = Field(
        24.0, gt=0, description="How often the retention purge job runs."
    )
    purge_batch_events: int = Field(
        50_000, ge=100, description="Raw events deleted per purge transaction."
    )

    @field_validator("scrub")
    @classmethod
    def _check_scrub(cls, value: list[str]) -> list[str]:
        for rule in value:
            pattern, _, action = rule.rpartition("=")
            if not pattern or action not in ("drop", "hash"):
                raise ValueError(
                    f'rule {rule!r} must be PATTERN=drop or PATTERN=hash, e.g. "*email*=hash"'
                )
        return value


class SpoolSettings(_Section):
    """The local durable spool that keeps accepting events while the database is
    unavailable (docs/reliability.md)."""

    enabled: bool = Field(True, description="Spool accepted events when the database fails.")
    directory: str = Field(
        "eventkit-spool",
        description="Directory of spool segments (relative to the working directory); "
        "local disk of this node.",
    )
    max_bytes: int = Field(
        1024**3, ge=1024, description="Spool size on disk beyond which capture answers 503."
    )
    segment_bytes: int = Field(
        16 * 1024**2, ge=1024, description="Size at which a spool file is closed for replay."
    )
    after_seconds: float = Field(
        5.0, gt=0, description="A group commit slower than this is spooled and acknowledged."
    )


class RateLimitSettings(_Section):
    """Per-app capture rate and failed-authentication limits; each server process
    counts on its own (docs/security.md)."""

    events_per_second: float = Field(
        0.0, ge=0, description="Sustained events per second per app; 0 turns the limit off."
    )
    burst_events: int = Field(
        0, ge=0, description="Events an app may send at once above the rate (0: one second's)."
    )
    auth_failures_per_minute: float = Field(
        60.0, ge=0, description="Failed key checks per client address per minute; 0: no limit."
    )
    auth_failure_burst: int = Field(
        20, ge=1, description="Failed key checks a client address may make at once."
    )


class CorsSettings(_Section):
    """Cross-origin requests from browsers; off unless origins are listed."""

    allow_origins: list[str] = Field(
        default_factory=list,
        description='Origins allowed to call the API, e.g. ["https://app.example.com"]; '
        "empty turns CORS off.",
    )
    allow_methods: list[str] = Field(
        default_factory=lambda: ["GET", "POST", "OPTIONS"], description="Allowed methods."
    )
    allow_headers: list[str] = Field(
        default_factory=lambda: ["Authorization", "Content-Type", "Content-Encoding"],
        description="Request headers browsers may send.",
    )
    max_age: int = Field(600, ge=0, description="Seconds browsers may cache a preflight.")


class PartitionSettings(_Section):
    """Time partitions of the events table (PostgreSQL only; docs/reliability.md)."""

    months_ahead: int = Field(
        3, ge=1, le=24, description="Monthly partitions kept created ahead of now."
    )
    job_interval_seconds: float = Field(
        3600.0, gt=0, description="How often the job creating partitions ahead runs."
    )


class SqlSettings(_Section):
    """Read-only SQL over an app's relations: ``eventkit sql`` and ``POST /v1/query``
    (docs/sql.md)."""

    timeout_seconds: float = Field(
        10.0, gt=0, le=3600, description="A query is stopped after this many seconds."
    )
    max_rows: int = Field(
        10_000, ge=1, le=10_000_000, description="Most rows a query returns; the rest is cut."
    )
    max_sql_bytes: int = Field(100_000, ge=100, description="Longest query text accepted.")
    engine: Literal["database", "duckdb"] = Field(
        "database",
        description="Default engine: database (SQLite/PostgreSQL itself) or duckdb (the "
        "Parquet mirror; pip install 'eventkit[duckdb]').",
    )
    mirror_enabled: bool = Field(
        False,
        description="Keep the Parquet mirror DuckDB reads up to date in the scheduler loop.",
    )
    mirror_directory: str = Field(
        "eventkit-mirror",
        description="Where the Parquet mirror lives (relative to the working directory).",
    )
    mirror_interval_seconds: float = Field(
        300.0, gt=0, description="How often the mirror job appends new events."
    )
    duckdb_memory_mb: int = Field(1024, ge=64, description="DuckDB's memory limit per query.")
    duckdb_threads: int = Field(2, ge=1, le=256, description="DuckDB threads per query.")


class CohortSettings(_Section):
    """The cohort refresh job (docs/reports.md#cohorts)."""

    enabled: bool = Field(True, description="Refresh cohorts in the scheduler loop.")
    refresh_interval_seconds: float = Field(
        300.0, gt=0, description="How often every cohort's members are refreshed."
    )


class WebSettings(_Section):
    """The browser dashboard served by ``eventkit serve`` (docs/web.md)."""

    enabled: bool = Field(True, description="Serve the dashboard on the server's port.")
    base_path: str = Field(
        "/", description='Path the dashboard is served under, e.g. "/dashboard"; "/" for the root.'
    )
    session_hours: float = Field(
        168.0, gt=0, description="A sign-in lasts at most this long (then sign in again)."
    )
    idle_hours: float = Field(24.0, gt=0, description="A sign-in unused for this long ends.")
    invite_hours: float = Field(
        72.0, gt=0, description="How long a one-time sign-in link of members add/reset works."
    )
    login_failures_per_account: int = Field(
        5,
        ge=1,
        description="Failed sign-ins before an account is locked for a while "
        "(doubling with each further failure, at most 15 minutes).",
    )
    login_failures_per_minute: float = Field(
        10.0, gt=0, description="Failed sign-ins per client address per minute."
    )
    secure_cookies: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Mark cookies Secure: auto does so under TLS, an https "
        "server.public_url or an https request.",
    )
    proxy_auth_header: str = Field(
        "",
        description="Trust this request header (e.g. X-Forwarded-User) as the signed-in "
        "member's name; empty turns proxy sign-in off. Read docs/web.md first.",
    )
    proxy_auth_addresses: list[str] = Field(
        default_factory=lambda: ["127.0.0.1", "::1"],
        description="Only requests from these proxy addresses may use proxy_auth_header.",
    )
    live_poll_seconds: float = Field(
        1.0, gt=0, le=60, description="How often the Live page's stream looks for new events."
    )

    _check_addresses = field_validator("proxy_auth_addresses", mode="before")(_name_list)

    @field_validator("base_path")
    @classmethod
    def _check_base_path(cls, value: str) -> str:
        path = "/" + value.strip().strip("/")
        if path != "/" and not all(
            part.replace("-", "").replace("_", "").isalnum() for part in path[1:].split("/")
        ):
            raise ValueError('must be "/" or a path such as "/dashboard" (letters, digits, -, _)')
        if path.split("/")[1:2] in (["v1"], ["schema"], ["ofrep"]):
            raise ValueError("must not be a path the API uses (/v1, /schema, /ofrep)")
        return path
