"""Every command's --help, rendered as a user sees it: options that take no value (flags)
are shown without a value type, and options that take one keep it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
import typer.main
from typer.testing import CliRunner

import eventkit_export
import eventkit_webhook
from eventkit.cli.app import app


def bundled_plugin_commands() -> typer.Typer:
    """The bundled plugins' commands (plugins are not loaded under test)."""
    extra = typer.Typer()
    eventkit_export.eventkit_cli_commands(app=extra)
    eventkit_webhook.eventkit_cli_commands(app=extra)
    return extra


def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every command under ``cmd`` (Typer's vendored click commands and groups)."""
    yield path, cmd
    for name, sub in sorted(getattr(cmd, "commands", {}).items()):
        yield from walk(sub, (*path, name))


def commands() -> list[tuple[typer.Typer, tuple[str, ...], Any]]:
    out = []
    for typer_app in (app, bundled_plugin_commands()):
        root = typer.main.get_command(typer_app)
        out += [(typer_app, path, cmd) for path, cmd in walk(root, ())]
    return out


COMMANDS = commands()
TYPE = re.compile(r"<[^<>]+>")


def option_row(name: str) -> re.Pattern[str]:
    """The row of the Options panel that starts with the option ``name``."""
    return re.compile(rf"^│\s*(\*\s+)?{re.escape(name)}(?![\w-])")


def test_every_command_is_walked() -> None:
    paths = {" ".join(p) for _, p, _ in COMMANDS}
    assert {"serve", "flags create", "users delete", "events list", "export"} <= paths
    assert len(paths) > 60


@pytest.mark.parametrize(
    ("typer_app", "path", "cmd"), COMMANDS, ids=[" ".join(p) or "eventkit" for _, p, _ in COMMANDS]
)
def test_flags_show_no_value_type(typer_app: typer.Typer, path: tuple[str, ...], cmd: Any) -> None:
    result = CliRunner().invoke(typer_app, [*path, "--help"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    options = [p for p in cmd.params if p.param_type_name == "option"]
    assert "--help" in result.output
    checked = 0
    for opt in options:
        name = max(opt.opts, key=len)
        row = next((ln for ln in lines if option_row(name).search(ln)), None)
        if opt.hidden:
            continue
        assert row is not None, f"{name} missing from the help of {' '.join(path)}"
        types = TYPE.findall(row)
        if opt.is_flag and not opt.count:
            assert types == [], f"flag {name} shown with a value type: {row.strip()}"
        else:
            assert types, f"{name} takes a value but shows no type: {row.strip()}"
        checked += 1
    help_row = next(ln for ln in lines if option_row("--help").search(ln))
    assert TYPE.findall(help_row) == [], help_row
    assert checked == len([o for o in options if not o.hidden])
