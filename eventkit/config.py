"""Settings: ``eventkit.toml`` (or ``--config PATH``), overridden by ``EVENTKIT_*``
environment variables, validated once at start.

Environment variables name a key by its path in upper case, with ``__`` between a
section and its key: ``EVENTKIT_DATABASE_URL``, ``EVENTKIT_LIMITS__MAX_BATCH_EVENTS``.
Every key is documented in ``config.example.toml`` and ``docs/configuration.md``.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    ValidationError,
    field_validator,
)

from eventkit.config_alerts import AlertSettings, ReleaseSettings, SmtpSettings
from eventkit.config_sections import (
    AggregationSettings,
    CohortSettings,
    CompatSettings,
    CorsSettings,
    IngestSettings,
    IpPolicy,
    LimitSettings,
    LogSettings,
    PartitionSettings,
    PluginSettings,
    PrivacySettings,
    RateLimitSettings,
    SchedulerSettings,
    ServerSettings,
    SessionSettings,
    SessionTimeouts,
    SpoolSettings,
    SqliteSettings,
    SqlSettings,
    TlsSettings,
    TrackingSettings,
    WebSettings,
    _Section,
)
from eventkit.errors import ConfigError

__all__ = [
    "AggregationSettings",
    "AlertSettings",
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
    "ReleaseSettings",
    "SchedulerSettings",
    "ServerSettings",
    "SessionSettings",
    "SessionTimeouts",
    "Settings",
    "SmtpSettings",
    "SpoolSettings",
    "SqlSettings",
    "SqliteSettings",
    "TlsSettings",
    "TrackingSettings",
    "WebSettings",
    "deep_merge",
    "load_settings",
    "masked",
]

ENV_PREFIX = "EVENTKIT_"
CONFIG_ENV = "EVENTKIT_CONFIG"
DEFAULT_CONFIG_FILE = "eventkit.toml"


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
    sql: SqlSettings = Field(default_factory=SqlSettings)
    cohorts: CohortSettings = Field(default_factory=CohortSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    releases: ReleaseSettings = Field(default_factory=ReleaseSettings)
    web: WebSettings = Field(default_factory=WebSettings)

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
        "EVENTKIT_SERVE_PID",
        "EVENTKIT_REAPER_DIR",
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


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``over``, nested dicts merged key by key (``over`` wins)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
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
    data = deep_merge(data, overrides)
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
