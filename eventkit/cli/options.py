"""Options and parsing shared by the CLI's command groups, among them the one rule for
``--app``:

- a command about one app (reports, statistics, users, erasure and export, flags,
  experiments, tracking plans, the dashboard) takes ``--app NAME``; without it, it uses
  the database's only app, and with several apps it refuses and names them
  (:data:`AppOption`, :func:`one_app`);
- a command that lists records (``events list|tail``, ``sessions list``, ``export``,
  ``privacy audit``) covers every app without ``--app``, and each row names its app
  (:data:`AllAppsOption`, :func:`app_scope`).
"""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from eventkit.storage.apps import AppInfo, choose_app, get_app, list_apps
from eventkit.timeutil import parse_when

__all__ = ["AllAppsOption", "AppOption", "app_scope", "one_app", "when_option"]

AppOption = Annotated[
    str | None,
    typer.Option(
        "--app", "-a", help="App name (default: the only app; required when there are several)."
    ),
]
AllAppsOption = Annotated[
    str | None, typer.Option("--app", "-a", help="Only this app (default: every app).")
]


def when_option(value: str | None, option: str) -> int | None:
    """A --since/--until value as epoch microseconds; a bad value names the option."""
    if value is None:
        return None
    try:
        return parse_when(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


def one_app(engine: Engine, name: str | None) -> AppInfo:
    """The app a one-app command is about (:func:`eventkit.storage.apps.choose_app`).

    Raises:
        NotFoundError: no such app, no app, or several apps and no ``--app``.
    """
    return choose_app(engine, name)


def app_scope(engine: Engine, name: str | None) -> tuple[int | None, dict[int, str]]:
    """For listings: the app id to filter on (None: every app) and every app's name.

    Raises:
        NotFoundError: ``name`` is not an app.
    """
    names = {a.id: a.name for a in list_apps(engine)}
    if name is None:
        return None, names
    return get_app(engine, name, count_events=False).id, names
