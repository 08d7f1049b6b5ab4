"""Session timeouts, resolved per app and platform.

Precedence, most specific first: the app's ``settings["sessions"]["platforms"][p]``,
the app's ``settings["sessions"]``, ``[sessions.platforms.<p>]``, ``[sessions]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eventkit.config import SessionSettings
from eventkit.errors import ConfigError
from eventkit.timeutil import US_PER_HOUR, US_PER_SECOND

__all__ = ["AppRules", "Timeouts", "app_rules"]

_US_PER_MINUTE = 60 * US_PER_SECOND
_KEYS = ("inactivity_minutes", "max_length_hours", "background_minutes")


@dataclass(frozen=True)
class Timeouts:
    """The cut rules for one platform, in microseconds (``background`` 0 = off)."""

    inactivity: int
    max_length: int
    background: int

    @classmethod
    def from_values(cls, values: Mapping[str, Any]) -> Timeouts:
        """Build from ``inactivity_minutes``/``max_length_hours``/``background_minutes``."""
        try:
            inactivity = float(values["inactivity_minutes"])
            max_length = float(values["max_length_hours"])
            background = float(values["background_minutes"])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"invalid session timeout: {exc}") from None
        if inactivity <= 0 or max_length <= 0 or background < 0:
            raise ConfigError(
                "session timeouts must be positive (background_minutes may be 0 = off)"
            )
        return cls(
            inactivity=round(inactivity * _US_PER_MINUTE),
            max_length=round(max_length * US_PER_HOUR),
            background=round(background * _US_PER_MINUTE),
        )


@dataclass(frozen=True)
class AppRules:
    """Timeouts of one app, per platform, plus the bounce threshold."""

    default: Timeouts
    platforms: dict[str, Timeouts] = field(default_factory=dict)
    bounce_us: int = 10 * US_PER_SECOND

    def for_platform(self, platform: str | None) -> Timeouts:
        """The timeouts of events from ``platform`` (None: the app's default)."""
        if platform is None:
            return self.default
        return self.platforms.get(platform.lower(), self.default)

    @property
    def widest_gap(self) -> int:
        """The largest inactivity gap of any platform: beyond it, sessions never join."""
        return max(t.inactivity for t in (self.default, *self.platforms.values()))


def _overlay(base: dict[str, Any], over: Mapping[str, Any] | None) -> dict[str, Any]:
    out = dict(base)
    for key in _KEYS:
        if over and over.get(key) is not None:
            out[key] = over[key]
    return out


def app_rules(settings: SessionSettings, app_settings: Mapping[str, Any] | None) -> AppRules:
    """Resolve an app's rules from the config and its ``apps.settings`` JSON.

    Raises:
        ConfigError: an override is not a number or is out of range.
    """
    base = {k: getattr(settings, k) for k in _KEYS}
    per_platform = {
        name.lower(): _overlay(base, p.model_dump()) for name, p in settings.platforms.items()
    }
    app = (app_settings or {}).get("sessions") or {}
    if not isinstance(app, Mapping):
        raise ConfigError("apps.settings.sessions must be an object")
    app_base = _overlay(base, app)
    for name, values in per_platform.items():
        per_platform[name] = _overlay(values, app)
    for name, over in (app.get("platforms") or {}).items():
        per_platform[str(name).lower()] = _overlay(per_platform.get(name.lower(), app_base), over)
    bounce = app.get("bounce_seconds", settings.bounce_seconds)
    return AppRules(
        default=Timeouts.from_values(app_base),
        platforms={name: Timeouts.from_values(v) for name, v in per_platform.items()},
        bounce_us=round(float(bounce) * US_PER_SECOND),
    )
