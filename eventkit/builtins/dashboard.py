"""The terminal dashboard: ``eventkit dashboard``. Textual is imported only when the
command runs."""

from __future__ import annotations

from typing import Any

from eventkit.plugins.hookspecs import hookimpl

__all__ = ["eventkit_cli_commands"]


@hookimpl
def eventkit_cli_commands(app: Any) -> None:
    """The ``eventkit dashboard`` command."""
    from eventkit.cli.dashboard import dashboard

    app.command("dashboard")(dashboard)
