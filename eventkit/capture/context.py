"""The ``context`` object: checks of its documented fields and the columns derived
from it (platform, app version, country).

Context is decoded into a small typed view that reads only the fields eventkit
derives columns from; unknown fields are skipped in C and kept verbatim in storage.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = ["ContextInfo", "context_info", "platform_of"]

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


class _Object(msgspec.Struct):
    """Any JSON object (fields are not read)."""


class _Os(msgspec.Struct):
    name: Any = None
    version: Any = None


class _App(msgspec.Struct):
    version: Any = None
    build: Any = None


class _Location(msgspec.Struct):
    country: Any = None


class _ContextView(msgspec.Struct):
    app: _App | None = None
    os: _Os | None = None
    location: _Location | None = None
    device: _Object | None = None
    network: _Object | None = None
    screen: _Object | None = None
    library: _Object | None = None
    locale: str | None = None
    timezone: str | None = None


_decoder = msgspec.json.Decoder(_ContextView)


class ContextInfo(msgspec.Struct, gc=False):
    """Columns derived from context, or the errors that prevented it."""

    errors: list[tuple[str, str]]
    platform: str | None = None
    app_version: str | None = None
    country: str | None = None


_EMPTY = ContextInfo([])


def platform_of(os_name: str | None) -> str | None:
    """Normalise an OS name to a platform: ios, android, macos, web, ... or lower-case."""
    if not os_name:
        return None
    lowered = os_name.strip().lower()
    return _PLATFORMS.get(lowered, lowered[:32])


def _str(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    return value if isinstance(value, str) else str(value)


_OBJECT_FIELDS = ("app", "os", "location", "device", "network", "screen", "library")
_STRING_FIELDS = ("locale", "timezone")
_any = msgspec.json.Decoder()


def _context_errors(ctx: msgspec.Raw) -> list[tuple[str, str]]:
    """Every documented context field of the wrong type (the slow path)."""
    data = _any.decode(ctx)
    if not isinstance(data, dict):
        return [("context", "must be a JSON object")]
    errors = [
        (f"context.{k}", "must be a JSON object")
        for k in _OBJECT_FIELDS
        if data.get(k) is not None and not isinstance(data[k], dict)
    ]
    errors += [
        (f"context.{k}", "must be a string")
        for k in _STRING_FIELDS
        if data.get(k) is not None and not isinstance(data[k], str)
    ]
    return errors


def context_info(ctx: msgspec.Raw | dict[str, Any]) -> ContextInfo:
    """Check the documented context fields and derive platform, app version, country."""
    if isinstance(ctx, dict):
        if not ctx:
            return _EMPTY
        ctx = msgspec.Raw(msgspec.json.encode(ctx))
    elif len(ctx) <= 2:
        return _EMPTY
    try:
        view = _decoder.decode(ctx)
    except msgspec.ValidationError as exc:
        return ContextInfo(_context_errors(ctx) or [("context", str(exc))])
    except msgspec.DecodeError:
        return ContextInfo([("context", "is not valid JSON")])
    version = _str(view.app.version) if view.app else None
    country = _str(view.location.country) if view.location else None
    return ContextInfo(
        [],
        platform_of(_str(view.os.name)) if view.os else None,
        version[:64] if version else None,
        country.upper()[:8] if country else None,
    )
