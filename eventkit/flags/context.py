"""Evaluation attributes from the context apps already send with events.

Apps send the same ``context`` object to ``POST /v1/flags/evaluate`` as to
``POST /v1/events`` (docs/event_tracking_schema.md): ``{"app": {"version"}, "os":
{"name", "version"}, "location": {"country"}, "locale", ...}``. Targeting rules use flat
attribute names, so this derives ``platform``, ``app_version``, ``app_build``,
``os_version``, ``country``, ``device_model`` and keeps ``locale``. Flat keys that are
given explicitly win.
"""

from __future__ import annotations

from typing import Any

from eventkit.capture.context import platform_of

__all__ = ["flatten_context"]


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else None


def flatten_context(ctx: dict[str, Any]) -> dict[str, Any]:
    """Flat evaluation attributes from an event-style ``context`` (nested objects)."""
    if not any(isinstance(v, dict) for v in ctx.values()):
        return ctx
    out = {k: v for k, v in ctx.items() if not isinstance(v, dict)}
    derived = {
        "app_version": _get(ctx.get("app"), "version"),
        "app_build": _get(ctx.get("app"), "build"),
        "os_version": _get(ctx.get("os"), "version"),
        "device_model": _get(ctx.get("device"), "model"),
    }
    os_name = _get(ctx.get("os"), "name")
    if isinstance(os_name, str):
        derived["platform"] = platform_of(os_name)
    country = _get(ctx.get("location"), "country")
    if isinstance(country, str):
        derived["country"] = country.upper()
    for key, value in derived.items():
        if value is not None and out.get(key) is None:
            out[key] = value
    return out
