"""The core: capture, event reads and operations routes; the server, app, key, event,
database, config and plugin commands."""

from __future__ import annotations

from typing import Any

from eventkit.config import Settings
from eventkit.plugins.hookspecs import hookimpl

__all__ = ["eventkit_cli_commands", "eventkit_routes"]


@hookimpl
def eventkit_routes(settings: Settings) -> list[Any]:
    """``POST /v1/events``, ``POST /v1/identify``, ``GET /v1/events``, ``/healthz``,
    ``/readyz`` and ``/metrics``."""
    from eventkit.api import capture, events, ops

    return [
        capture.capture_events,
        capture.identify,
        events.list_events,
        ops.healthz,
        ops.readyz,
        ops.metrics,
    ]


@hookimpl
def eventkit_cli_commands(app: Any) -> None:
    """``serve``, ``worker``, ``apps``, ``keys``, ``events``, ``db``, ``config`` and
    ``plugins``."""
    from eventkit.cli import apps, config_cmd, db, events, keys, plugins
    from eventkit.cli.serve import serve
    from eventkit.cli.worker import worker

    app.command("serve")(serve)
    app.command("worker")(worker)
    app.add_typer(apps.app, name="apps")
    app.add_typer(keys.app, name="keys")
    app.add_typer(events.app, name="events")
    app.add_typer(db.app, name="db")
    app.add_typer(config_cmd.app, name="config")
    app.add_typer(plugins.app, name="plugins")
