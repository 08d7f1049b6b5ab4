"""Options and parsing shared by the CLI's command groups."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from eventkit.storage.apps import get_app, list_apps
from eventkit.timeutil import parse_when

__all__ = ["AppOption", "app_scope", "when_option"]

AppOption = Annotated[str | None, typer.Option("--app", "-a", help="App name (default: all).")]


def when_option(value: str | None, option: str) -> int | None:
    """A --since/--until value as epoch microseconds; a bad value names the option."""
    if value is None:
        return None
    try:
        return parse_when(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def app_scope(engine: Engine, name: str | None) -> tuple[int | None, dict[int, str]]:
    """The app id to filter on (None: every app) and the names of all apps by id.

    Raises:
        NotFoundError: ``name`` is not an app.
    """
    names = {a.id: a.name for a in list_apps(engine)}
    if name is None:
        return None, names
    return get_app(engine, name, count_events=False).id, names
