"""``eventkit dashboard``: the terminal dashboard (docs/dashboard.md)."""

from __future__ import annotations

from typing import Annotated

import typer

from eventkit.cli.context import state
from eventkit.cli.options import AppOption, one_app
from eventkit.storage.apps import list_apps

__all__ = ["dashboard"]

_SCREENS = ("overview", "live", "explorer", "reports", "flags", "experiments")


def dashboard(
    ctx: typer.Context,
    app_name: AppOption = None,
    screen: Annotated[
        str, typer.Option(help="Screen to open: overview, live, explorer, reports, flags, "
                               "experiments.")
    ] = "overview",
    refresh: Annotated[
        float, typer.Option(min=0, help="Overview auto-refresh, seconds (0: off).")
    ] = 5.0,
) -> None:  # fmt: skip
    """Open the terminal dashboard on the local database (keys: ? for help, q to quit)."""
    from eventkit.tui.app import DashboardApp
    from eventkit.tui.data import Dashboard

    if screen not in _SCREENS:
        raise typer.BadParameter(f"use one of {', '.join(_SCREENS)}", param_hint="--screen")
    st = state(ctx)
    engine = st.engine()
    app_id: int | None = None
    name: str | None = None
    if list_apps(engine) or app_name:  # no app at all: the dashboard explains how to start
        chosen = one_app(engine, app_name)
        app_id, name = chosen.id, chosen.name
    data = Dashboard(engine, st.settings, app_id, name)
    DashboardApp(data, refresh_seconds=refresh, start=screen).run()
