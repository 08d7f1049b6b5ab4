"""Privacy: the retention purge job, the user erasure/export routes and commands. Its
ingest stages are listed in ``eventkit.ingest.pipeline.STAGES``.

``users delete|export`` join the ``users`` group and ``apps set|settings`` the ``apps``
group, where people look for them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from eventkit.builtins.jobs import engine_job
from eventkit.config import Settings
from eventkit.plugins.hookspecs import hookimpl
from eventkit.plugins.specs import JobSpec
from eventkit.privacy.retention import purge_expired

__all__ = ["eventkit_cli_commands", "eventkit_routes", "eventkit_scheduled_jobs"]


@hookimpl
def eventkit_scheduled_jobs(settings: Settings) -> list[JobSpec]:
    """The retention purge."""

    def purge(engine: Engine) -> None:
        purge_expired(engine, settings)

    return [
        engine_job(
            settings,
            purge,
            id="privacy.retention",
            seconds=settings.privacy.purge_interval_hours * 3600,
            description="Purge raw events past each app's retention",
        )
    ]


@hookimpl
def eventkit_routes(settings: Settings) -> list[Any]:
    """``DELETE /v1/users/{user_id}`` and ``GET /v1/users/{user_id}/export``."""
    from eventkit.api import privacy

    return list(privacy.ROUTES)


@hookimpl
def eventkit_cli_commands(app: Any) -> None:
    """``users delete|export``, ``apps set|settings`` and ``privacy audit|purge``."""
    from eventkit.cli import apps, privacy, users

    users.app.command("delete")(privacy.delete_cmd)
    users.app.command("export")(privacy.export_cmd)
    apps.app.command("set")(privacy.set_cmd)
    apps.app.command("settings")(privacy.settings_cmd)
    app.add_typer(privacy.app, name="privacy")
