"""Settings: ``eventkit.toml`` (or ``--config PATH``), overridden by ``EVENTKIT_*``
environment variables, validated once at start.

Environment variables name a key by its path in upper case, with ``__`` between a
section and its key: ``EVENTKIT_DATABASE_URL``, ``EVENTKIT_LIMITS__MAX_BATCH_EVENTS``.
Every key is documented in ``config.example.toml`` and ``docs/configuration.md``.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from eventkit.errors import ConfigError

__all__ = [
    "AggregationSettings",
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
    "Settings",
    "SpoolSettings",
    "SqliteSettings",
    "TlsSettings",
    "TrackingSettings",
    "load_settings",
    "masked",
]

ENV_PREFIX = "EVENTKIT_"
CONFIG_ENV = "EVENTKIT_CONFIG"
DEFAULT_CONFIG_FILE = "eventkit.toml"


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
        description="CPython's GIL switch interval in each server worker (default 5000).",
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

    @field_validator("enable", "disable", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        """Also ``EVENTKIT_PLUGINS__ENABLE=geoip,webhook`` (or a JSON list) from the
        environment."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [n.strip() for n in text.split(",") if n.strip()]
        return value

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

    @field_validator("vendors", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        # EVENTKIT_COMPAT__VENDORS=segment,posthog
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value


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


class Settings(_Section):
    """All of eventkit's settings."""

    database_url: str = Field(
        "sqlite:///eventkit.db",
        description="sqlite:///path.db or postgresql://user:pass@host:5432/db",
    )
    auto_migrate: bool = Field(True, description="Apply pending migrations on serve.")
    default_app: str = Field(
        "default", description="App created, with keys printed once, on first start."
    )
    server: ServerSettings = Field(default_factory=ServerSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    sqlite: SqliteSettings = Field(default_factory=SqliteSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    sessions: SessionSettings = Field(default_factory=SessionSettings)
    aggregation: AggregationSettings = Field(default_factory=AggregationSettings)
    plugins: PluginSettings = Field(default_factory=PluginSettings)
    compat: CompatSettings = Field(default_factory=CompatSettings)
    tls: TlsSettings = Field(default_factory=TlsSettings)
    tracking: TrackingSettings = Field(default_factory=TrackingSettings)
    privacy: PrivacySettings = Field(default_factory=PrivacySettings)
    spool: SpoolSettings = Field(default_factory=SpoolSettings)
    rate_limits: RateLimitSettings = Field(default_factory=RateLimitSettings)
    cors: CorsSettings = Field(default_factory=CorsSettings)
    partitions: PartitionSettings = Field(default_factory=PartitionSettings)

    #: Where these settings came from, for ``config show``; not a setting.
    source: str = Field("defaults", exclude=True)

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:", "postgres:")):
            raise ValueError(
                "must start with sqlite:/// (a file) or postgresql:// (a server), "
                "e.g. sqlite:///eventkit.db"
            )
        return value

    @property
    def url(self) -> str:
        """The URL clients send events to."""
        if self.server.public_url:
            return self.server.public_url.rstrip("/")
        wildcard = ("0.0.0.0", "::", "127.0.0.1")  # noqa: S104 - compared, never bound
        host = "localhost" if self.server.host in wildcard else self.server.host
        scheme = "https" if self.tls.enabled else "http"
        return f"{scheme}://{host}:{self.server.port}"


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """Turn ``EVENTKIT_A__B=v`` into ``{"a": {"b": "v"}}``."""
    tree: dict[str, Any] = {}
    skip = {
        CONFIG_ENV,
        "EVENTKIT_TEST_POSTGRES_URL",
        "EVENTKIT_LOAD_PLUGINS",
        "EVENTKIT_WRITE_KEY",
        "EVENTKIT_SECRET_KEY",
        "EVENTKIT_URL",
        "EVENTKIT_WRITER_SOCKET",
    }
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in skip:
            continue
        path = name[len(ENV_PREFIX) :].lower().split("__")
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: {part} is a value, not a section")
        node[path[-1]] = value
    return tree


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _format_errors(exc: ValidationError, source: str) -> str:
    lines = [f"invalid configuration ({source}):"]
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        env = ENV_PREFIX + "__".join(str(p) for p in err["loc"]).upper()
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key; see config.example.toml for the keys eventkit reads"
        value = err.get("input")
        if isinstance(value, str) and (
            any(h in key for h in SECRET_HINTS) or value.startswith("ek_") or "@" in value
        ):
            value = "********"
        lines.append(f"  {key} = {value!r}: {msg} (in the file, or {env})")
    return "\n".join(lines)


def load_settings(
    path: str | Path | None = None, environ: dict[str, str] | None = None
) -> Settings:
    """Load settings from a TOML file and the environment.

    Args:
        path: the config file; defaults to ``$EVENTKIT_CONFIG`` or ``./eventkit.toml``
            when that exists. A path given explicitly must exist.
        environ: the environment to read overrides from (``os.environ`` by default).

    Raises:
        ConfigError: the file is unreadable or a value is invalid; the message names the
            key, the value and how to fix it.
    """
    env = dict(os.environ if environ is None else environ)
    explicit = path is not None or CONFIG_ENV in env
    file = Path(path or env.get(CONFIG_ENV) or DEFAULT_CONFIG_FILE)
    data: dict[str, Any] = {}
    sources = []
    if file.exists():
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config file {file}: {exc}") from exc
        sources.append(str(file))
    elif explicit:
        raise ConfigError(
            f"config file {file} does not exist; create it from config.example.toml "
            "or leave --config/EVENTKIT_CONFIG unset to use defaults"
        )
    overrides = _env_overrides(env)
    if overrides:
        sources.append("environment")
    data = _merge(data, overrides)
    source = " + ".join(sources) or "defaults"
    try:
        settings = Settings.model_validate({**data, "source": source})
    except ValidationError as exc:
        raise ConfigError(_format_errors(exc, source)) from None
    return settings


SECRET_HINTS = ("password", "secret", "token", "key")


def masked(settings: Settings) -> dict[str, Any]:
    """The effective settings as a dict, with secrets (passwords in URLs, keys) masked."""
    data = settings.model_dump(mode="json")
    data["database_url"] = _mask_url(data["database_url"])

    def walk(node: dict[str, Any]) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value)
            elif isinstance(value, str) and value and any(h in key for h in SECRET_HINTS):
                node[key] = "********"

    walk(data)
    return data


def _mask_url(url: str) -> str:
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    if ":" in creds:
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:********@{host}"
    return url
