"""eventkit-uaparser: device and OS from the user agent (``ua-parser``), docs/plugins.md.

For each event, the user agent is ``context.userAgent`` (or ``context.user_agent``, as
some SDKs send it), else the request's ``User-Agent`` header. What it reveals fills
``context.os`` (``name``, ``version``), ``context.device`` (``family``, ``brand``,
``model``) and ``context.browser``, only where the client did not send them, and the
``platform`` column when it is empty. The raw user agent is not stored. Off until
named in ``plugins.enable`` (it costs a parse per new user agent).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import msgspec

from eventkit.capture.context import platform_of
from eventkit.capture.schema import CanonicalEvent, as_dict
from eventkit.plugins.hookspecs import hookimpl

__all__ = ["EVENTKIT_DEFAULT_ENABLED", "eventkit_enrich_event", "parse_user_agent"]

EVENTKIT_DEFAULT_ENABLED = False
log = logging.getLogger("eventkit_uaparser")


@lru_cache(maxsize=1)
def available() -> bool:
    """Whether ua-parser is installed (said once in the log when it is not)."""
    try:
        import ua_parser  # noqa: F401
    except ImportError:
        log.error("uaparser is enabled but ua-parser is missing: pip install 'eventkit[uaparser]'")
        return False
    return True


def _version(*parts: str | None) -> str | None:
    out = []
    for p in parts:
        if p is None:
            break
        out.append(p)
    return ".".join(out) or None


@lru_cache(maxsize=4096)
def parse_user_agent(ua: str) -> dict[str, dict[str, str]]:
    """What a user agent says about the OS, device and browser (only known values).

    Cached: apps send the same few user agents again and again.
    """
    from ua_parser import parse

    r = parse(ua)
    out: dict[str, dict[str, str]] = {}
    if r.os is not None and r.os.family != "Other":
        os = {"name": r.os.family}
        version = _version(r.os.major, r.os.minor, r.os.patch)
        if version:
            os["version"] = version
        out["os"] = os
    if r.device is not None and r.device.family != "Other":
        device = {"family": r.device.family}
        if r.device.brand:
            device["brand"] = r.device.brand
        if r.device.model:
            device["model"] = r.device.model
        out["device"] = device
    if r.user_agent is not None and r.user_agent.family != "Other":
        browser = {"name": r.user_agent.family}
        version = _version(r.user_agent.major, r.user_agent.minor)
        if version:
            browser["version"] = version
        out["browser"] = browser
    return out


def _fill(ctx: dict[str, Any], key: str, found: dict[str, str]) -> bool:
    """Add the parsed fields the client did not send; True if anything changed."""
    current = ctx.get(key)
    if current is None:
        ctx[key] = dict(found)
        return True
    if not isinstance(current, dict):
        return False
    missing = {k: v for k, v in found.items() if k not in current}
    if missing:
        ctx[key] = {**current, **missing}
    return bool(missing)


@hookimpl
def eventkit_enrich_event(event: CanonicalEvent, user_agent: str | None) -> Any:
    """Fill ``context.os``, ``context.device`` and ``platform`` from the user agent."""
    ctx = as_dict(event.context)
    ua = ctx.get("userAgent") or ctx.get("user_agent") or user_agent
    if not isinstance(ua, str) or not ua or not available():
        return None
    found = parse_user_agent(ua[:1024])
    if not found:
        return None
    changed = [_fill(ctx, key, value) for key, value in found.items()]
    platform = event.platform
    if platform is None and "os" in found:
        platform = platform_of(found["os"]["name"])
    if not any(changed) and platform == event.platform:
        return None
    return msgspec.structs.replace(event, context=ctx, platform=platform)
