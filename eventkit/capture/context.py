"""The ``context`` object: checks of its documented fields and the columns derived
from it (platform, app version, country)."""

from __future__ import annotations

from typing import Any

__all__ = ["context_fields", "platform_of"]

_PLATFORMS = {
    "ios": "ios",
    "ipados": "ios",
    "iphone os": "ios",
    "android": "android",
    "macos": "macos",
    "mac os x": "macos",
    "windows": "windows",
    "linux": "linux",
    "web": "web",
    "tvos": "tvos",
    "watchos": "watchos",
}

#: Documented context fields that must be objects when present.
_OBJECTS = ("app", "os", "device", "network", "screen", "library", "location")
_STRINGS = ("locale", "timezone")


def platform_of(os_name: str | None) -> str | None:
    """Normalise an OS name to a platform: ios, android, macos, web, ... or lower-case."""
    if not os_name:
        return None
    lowered = os_name.strip().lower()
    return _PLATFORMS.get(lowered, lowered[:32])


def context_fields(
    ctx: dict[str, Any],
) -> tuple[list[tuple[str, str]], str | None, str | None, str | None]:
    """Check the documented context fields and derive (errors, platform, app_version,
    country)."""
    if not ctx:
        return [], None, None, None
    errors: list[tuple[str, str]] = []
    for key in _OBJECTS:
        value = ctx.get(key)
        if value is not None and not isinstance(value, dict):
            errors.append((f"context.{key}", "must be a JSON object"))
    for key in _STRINGS:
        value = ctx.get(key)
        if value is not None and not isinstance(value, str):
            errors.append((f"context.{key}", "must be a string"))
    if errors:
        return errors, None, None, None
    os_info = ctx.get("os") or {}
    app = ctx.get("app") or {}
    location = ctx.get("location") or {}
    platform = platform_of(_str(os_info.get("name")))
    version = _str(app.get("version"))
    country = _str(location.get("country"))
    return (
        errors,
        platform,
        version[:64] if version else None,
        country.upper()[:8] if country else None,
    )


def _str(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)
