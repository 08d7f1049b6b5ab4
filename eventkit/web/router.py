"""The dashboard as one Litestar router, mounted by ``eventkit serve`` under
``web.base_path`` (docs/web.md lists every route and who may use it)."""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.static_files import create_static_files_router

from eventkit.config import Settings
from eventkit.errors import EventKitError
from eventkit.web.account import ACCOUNT_ROUTES
from eventkit.web.admin import ADMIN_ROUTES
from eventkit.web.live import LIVE_ROUTES
from eventkit.web.render import STATIC, error_response
from eventkit.web.routes import ROUTES

__all__ = ["web_router"]


def web_router(settings: Settings) -> Router:
    """Every dashboard route under ``settings.web.base_path``."""
    static = create_static_files_router(
        path="/static",
        directories=[STATIC],
        include_in_schema=False,
        cache_control=None,
        name="web_static",
    )
    handlers: list[Any] = [*LIVE_ROUTES, *ACCOUNT_ROUTES, *ADMIN_ROUTES, *ROUTES, static]
    return Router(
        path=settings.web.base_path,
        route_handlers=handlers,
        exception_handlers={EventKitError: error_response},
        # Marks the dashboard's routes (members' sign-ins, not API keys) for the API's
        # key tests, which leave them to tests/web/test_access.py.
        opt={"eventkit_web": True},
    )
