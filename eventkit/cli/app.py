"""The root ``eventkit`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from eventkit import __version__
from eventkit.cli.context import CliState
from eventkit.cli.output import fail
from eventkit.errors import EventKitError
from eventkit.plugins.manager import call_impl, get_plugin_manager, implementations

__all__ = ["app", "main"]


class _RootGroup(TyperGroup):
    """The root group: an eventkit error in any command becomes one line and exit 1,
    however the app is invoked (console script, ``python -m``, CliRunner)."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click.Context
        try:
            return super().invoke(ctx)
        except EventKitError as exc:
            fail(exc)


app = typer.Typer(
    name="eventkit",
    cls=_RootGroup,
    help="Self-hosted product analytics for mobile apps.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"eventkit {__version__}")
        raise typer.Exit


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="EVENTKIT_CONFIG",
            help="Config file (default: ./eventkit.toml if present).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show version.")
    ] = False,
) -> None:
    """eventkit: capture events, inspect them, manage apps and keys."""
    ctx.obj = CliState(config_path=config)
    ctx.call_on_close(ctx.obj.close)


# Every command, the core ones included, is added by the built-in plugins
# (eventkit/builtins/) and then by installed plugins, in the order they were loaded, so
# `eventkit --help` lists the core commands first.
for _impl in reversed(implementations(get_plugin_manager(), "eventkit_cli_commands")):
    call_impl(_impl, "eventkit_cli_commands", {"app": app})


def main() -> None:
    """Console-script entry point: eventkit errors become one line and exit code 1."""
    try:
        app()
    except EventKitError as exc:
        fail(exc)
