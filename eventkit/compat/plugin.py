"""The compat feature: the vendor routers, registered through eventkit's plugin hooks.

The routers are imported inside the hook, so importing this package never pulls in
litestar.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eventkit.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from eventkit.config import Settings

__all__ = ["eventkit_routes"]


@hookimpl
def eventkit_routes(settings: Settings) -> list[Any]:
    """``/segment``, ``/posthog``, ``/amplitude`` and ``/mixpanel`` (those enabled in
    ``compat.vendors``)."""
    from eventkit.compat.routes import ROUTERS

    enabled = set(settings.compat.vendors)
    return [r for r in ROUTERS if r.path.strip("/") in enabled]
