"""Feature flags and experiments: ``/v1/flags*``, OFREP, ``eventkit flags`` and
``eventkit experiments``."""

from __future__ import annotations

from typing import Any

from eventkit.config import Settings
from eventkit.plugins.hookspecs import hookimpl

__all__ = ["eventkit_cli_commands", "eventkit_routes"]


@hookimpl
def eventkit_routes(settings: Settings) -> list[Any]:
    """``/v1/flags*`` (evaluate, definitions, admin) and ``/ofrep/v1/*``."""
    from eventkit.api import flag_admin, flags, ofrep

    return [
        flags.evaluate_flags,
        flags.flag_definitions,
        flag_admin.list_all_flags,
        flag_admin.read_flag,
        flag_admin.put_flag,
        flag_admin.flag_history,
        ofrep.ofrep_single,
        ofrep.ofrep_bulk,
        ofrep.ofrep_configuration,
    ]


@hookimpl
def eventkit_cli_commands(app: Any) -> None:
    """``eventkit flags`` and ``eventkit experiments``."""
    from eventkit.cli import experiments, flags

    app.add_typer(flags.app, name="flags")
    app.add_typer(experiments.app, name="experiments")
