"""The browser dashboard: its router on the server (unless ``web.enabled`` is false) and
the ``members`` and ``share`` CLI groups."""

from __future__ import annotations

from typing import Any

from eventkit.config import Settings
from eventkit.plugins.hookspecs import hookimpl

__all__ = ["eventkit_cli_commands", "eventkit_routes"]


@hookimpl
def eventkit_routes(settings: Settings) -> list[Any]:
    """The dashboard router (docs/web.md)."""
    if not settings.web.enabled:
        return []
    from eventkit.web.router import web_router

    return [web_router(settings)]


@hookimpl
def eventkit_cli_commands(app: Any) -> None:
    """``eventkit members`` and ``eventkit share``."""
    from eventkit.cli.members import app as members_app
    from eventkit.cli.share import app as share_app

    app.add_typer(members_app, name="members")
    app.add_typer(share_app, name="share")
