"""eventkit's hook specifications. Each hook is documented in docs/plugins.md.

Hooks are called with keyword arguments. Built-in features that are optional register
through these same hooks (see ``eventkit.plugins.manager.DEFAULT_PLUGINS``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from eventkit.config import Settings
    from eventkit.scheduler import JobSpec

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("eventkit")
hookimpl = pluggy.HookimplMarker("eventkit")


@hookspec
def eventkit_scheduled_jobs(settings: Settings) -> list[JobSpec]:  # type: ignore[empty-body]
    """Return scheduled jobs (``JobSpec``) for the scheduler loop of ``eventkit serve``."""


@hookspec
def eventkit_routes(settings: Settings) -> list[Any]:  # type: ignore[empty-body]
    """Return Litestar route handlers or controllers to mount on the API."""


@hookspec
def eventkit_cli_commands(app: Any) -> None:
    """Add commands or groups to the root Typer ``app``."""


@hookspec
def eventkit_startup(settings: Settings) -> None:
    """Called once when the server starts, before it accepts requests."""


@hookspec
def eventkit_shutdown(settings: Settings) -> None:
    """Called once when the server stops, after the writer has drained."""
