"""The vendor SDK protocols: ``/segment``, ``/posthog``, ``/amplitude`` and
``/mixpanel`` (those enabled in ``compat.vendors``)."""

from __future__ import annotations

from typing import Any

from eventkit.config import Settings
from eventkit.plugins.hookspecs import hookimpl

__all__ = ["eventkit_routes"]


@hookimpl
def eventkit_routes(settings: Settings) -> list[Any]:
    """The routers of the vendors listed in ``compat.vendors``."""
    from eventkit.api.vendors import ROUTERS

    enabled = set(settings.compat.vendors)
    return [r for r in ROUTERS if r.path.strip("/") in enabled]
