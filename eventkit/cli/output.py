"""Output for the CLI: Rich tables on a terminal, JSON or CSV for scripts, and the one
place where eventkit errors become a message and an exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from enum import StrEnum
from typing import Annotated, Any, cast

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from eventkit.cli.tables import Col, cell, table
from eventkit.errors import EventKitError
from eventkit.reports.export import csv_text, json_text

__all__ = ["Col", "Format", "FormatOption", "console", "err_console", "fail", "render"]


class _CurrentConsole:
    """The Console for the current environment. Rich fixes the width (from ``COLUMNS``)
    and colour settings when a Console is created; a module-level Console would keep
    those of whatever environment first imported this module, so this one is rebuilt
    when they change (and is the same object while they don't, e.g. during a Progress)."""

    _ENV = ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR", "TERM")

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr
        self._key: tuple[str | None, ...] | None = None
        self._console: Console | None = None

    def __getattr__(self, name: str) -> Any:
        key = tuple(os.environ.get(k) for k in self._ENV)
        if self._console is None or key != self._key:
            self._console, self._key = Console(stderr=self._stderr), key
        return getattr(self._console, name)


console = cast(Console, _CurrentConsole())
err_console = cast(Console, _CurrentConsole(stderr=True))


class Format(StrEnum):
    """Output formats."""

    table = "table"
    json = "json"
    csv = "csv"


FormatOption = Annotated[
    Format, typer.Option("--format", "-f", help="table for people; json or csv for scripts.")
]


def render(
    rows: Sequence[dict[str, Any]],
    fmt: Format,
    *,
    columns: Sequence[str | Col] | None = None,
    title: str | None = None,
    empty: str = "nothing to show",
) -> None:
    """Print rows as a table, a JSON array or CSV.

    A table fits the terminal (``eventkit.cli.tables``): ``columns`` may be
    :class:`Col` specs that say which columns to keep when it is narrow.
    """
    specs = [c if isinstance(c, Col) else Col(c) for c in columns or (rows[0] if rows else [])]
    cols = [c.name for c in specs]
    if fmt is Format.json:
        sys.stdout.write(json_text(list(rows)))
        return
    if fmt is Format.csv:
        sys.stdout.write(csv_text(rows, cols))
        return
    if not rows:
        console.print(f"[dim]{empty}[/dim]")
        return
    console.print(table(rows, specs, width=console.width, title=title))


def render_one(obj: dict[str, Any], fmt: Format, *, title: str | None = None) -> None:
    """Print one object: key/value table (long values wrap), JSON object, or a one-row
    CSV."""
    if fmt is Format.json:
        sys.stdout.write(json_text(obj))
    elif fmt is Format.csv:
        render([obj], fmt)
    else:
        t = Table(title=title, show_header=False)
        t.add_column(style="bold cyan", no_wrap=True)
        t.add_column(overflow="fold")
        for k, v in obj.items():
            t.add_row(k, Text(cell(v)))
        console.print(t)


def fail(exc: EventKitError) -> None:
    """Print an eventkit error as one line and exit 1."""
    # One line however long (scripts read it), and the message printed literally.
    err_console.print(
        f"[bold red]error:[/bold red] {escape(exc.message)}", highlight=False, soft_wrap=True
    )
    raise SystemExit(1)
