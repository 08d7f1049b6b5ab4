"""eventkit's hook specifications. Each hook is documented in docs/plugins.md.

Hooks are called with keyword arguments; an implementation takes the arguments it
needs, by name. Built-in features that are optional register through these same hooks
(see ``eventkit.plugins.manager.DEFAULT_PLUGINS``). An implementation that raises is
logged, counted (``eventkit_plugin_errors_total``) and skipped: it never loses an event
or stops the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from eventkit.capture.schema import CanonicalEvent
    from eventkit.config import Settings
    from eventkit.plugins.specs import JobSpec, ReportSpec

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("eventkit")
hookimpl = pluggy.HookimplMarker("eventkit")


@hookspec
def eventkit_validate_event(
    event: CanonicalEvent, settings: Settings
) -> list[tuple[str, str]] | None:
    """Check an event before storage; return ``(field, message)`` reasons to reject it."""


@hookspec
def eventkit_enrich_event(
    event: CanonicalEvent, settings: Settings, user_agent: str | None
) -> CanonicalEvent | bool | None:
    """Enrich an event before storage: return a changed event, or ``False`` to drop it."""


@hookspec
def eventkit_events_stored(events: list[CanonicalEvent], settings: Settings) -> None:
    """React to newly stored events (a sink); called after commit, off the request path."""


@hookspec
def eventkit_erase_user(
    conn: Connection, app_id: int, user_id: str, anonymous_ids: list[str]
) -> dict[str, int] | None:
    """Remove what the plugin holds about a user (``eventkit users delete``), inside the
    erasure transaction; return the number of items removed per place."""


@hookspec
def eventkit_reports(settings: Settings) -> list[ReportSpec]:  # type: ignore[empty-body]
    """Return reports (``ReportSpec``) served by ``eventkit report run`` and the API."""


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
