"""Every table command rendered on an 80-column terminal (Rich's console width, from
COLUMNS) over demo data: nothing wider than the terminal, no cell cut to a single
truncated word ("2026…", "defa…"), and the columns a person needs are there."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from click.testing import Result
from typer.testing import CliRunner

from eventkit.cli.app import app
from eventkit.cli.tables import Col, layout

WIDTH = 80


class Cli:
    """``eventkit`` in-process on one database, at a fixed terminal width."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: str, width: int = WIDTH) -> Result:
        env = {"EVENTKIT_DATABASE_URL": self.url, "COLUMNS": str(width)}
        result = self.runner.invoke(app, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """Demo traffic, sessions, rollups, flags, an erased user, a tracking plan."""
    work = tmp_path_factory.mktemp("tables")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(work)
        run = Cli(f"sqlite:///{work / 'ek.db'}")
        run("db", "upgrade")
        run("demo", "--users", "60", "--days", "3")
        run("sessions", "run")
        run("aggregate", "run")
        run("flags", "create", "dark-mode", "--app", "demo", "--enable")
        run("flags", "rules", "dark-mode", "--app", "demo", "--when", "platform eq ios")
        events = json.loads(run("events", "list", "--limit", "500", "-f", "json").stdout)
        erased = next(e["user_id"] for e in events if e["user_id"] not in (None, "user-0000000"))
        run("users", "delete", erased, "--app", "demo", "--yes")
        yield run


def first_session(cli: Cli) -> str:
    rows = json.loads(cli("sessions", "list", "--app", "demo", "--limit", "1", "-f", "json").stdout)
    return str(rows[0]["id"])


#: (command, the column headers that must be shown at 80 columns)
COMMANDS: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("events", "list"), ("time", "name", "user/device", "properties")),
    (("events", "list", "--app", "demo"), ("time", "name", "user/device", "properties")),
    (("apps", "list"), ("name", "events", "write_keys")),
    (("apps", "show", "demo"), ()),
    (("apps", "settings", "demo"), ()),
    (("config", "show"), ("key", "value")),
    (("db", "status"), ()),
    (("aggregate", "status"), ()),
    (("plugins", "list"), ("name", "enabled")),
    (("privacy", "audit"), ("at", "action", "subject")),
    (("flags", "list", "--app", "demo"), ("key", "serves")),
    (("flags", "show", "new_checkout", "--app", "demo"), ()),
    (("flags", "history", "new_checkout", "--app", "demo"), ("version", "action", "at")),
    (("flags", "rules", "dark-mode", "--app", "demo"), ("rule", "conditions", "variant")),
    (("flags", "evaluate", "--app", "demo", "--device", "dev-0000001"), ("flag", "value")),
    (("experiments", "list", "--app", "demo"), ("key", "flag", "status")),
    (("experiments", "results", "checkout-test", "--app", "demo"), ("variant", "rate")),
    (("sessions", "list", "--app", "demo"), ("started_at", "user/device", "duration_s")),
    (("sessions", "show", "{session}", "--app", "demo"), ("time", "name", "properties")),
    (("sessions", "stats", "--app", "demo"), ("group", "sessions")),
    (("users", "show", "user-0000000", "--app", "demo"), ("time", "name", "properties")),
    (("report", "trends", "--app", "demo", "--by", "platform"), ("bucket", "count")),
    (("report", "active", "--app", "demo"), ("bucket",)),
    (("report", "top", "screens", "--app", "demo"), ("screen", "events")),
    (("report", "retention", "--app", "demo", "--interval", "week"), ("cohort", "users")),
    (
        ("report", "funnel", "signup_completed", "purchase_completed", "--app", "demo"),
        ("step", "event", "users"),
    ),
    (("schema", "violations", "--app", "demo"), ()),
]

_BORDERS = re.compile(r"[│┃]")


def cells(output: str) -> list[str]:
    """The text of every table cell line (a wrapped cell gives one entry per line)."""
    out = []
    for line in output.splitlines():
        if _BORDERS.search(line):
            out += [c.strip() for c in _BORDERS.split(line)[1:-1]]
    return out


def headers(output: str) -> set[str]:
    return {c for line in output.splitlines() if "┃" in line for c in cells(line) if c}


@pytest.mark.parametrize(
    ("command", "key_columns"), COMMANDS, ids=[" ".join(c) for c, _ in COMMANDS]
)
def test_tables_are_readable_at_80_columns(
    cli: Cli, command: tuple[str, ...], key_columns: tuple[str, ...]
) -> None:
    args = [first_session(cli) if a == "{session}" else a for a in command]
    output = cli(*args).stdout
    assert "│" in output or "no " in output, output
    too_wide = [line for line in output.splitlines() if len(line) > WIDTH]
    assert too_wide == [], output
    cut = [c for c in cells(output) if c.endswith("…") and " " not in c]
    assert cut == [], f"cells cut to one truncated word: {cut}\n{output}"
    missing = set(key_columns) - headers(output)
    assert not missing, f"missing columns {missing}\n{output}"


def test_a_wide_terminal_shows_every_column(cli: Cli) -> None:
    output = cli("events", "list", "--app", "demo", "--limit", "5", width=250).stdout
    assert {"time", "name", "user/device", "properties", "platform", "version", "app"} <= headers(
        output
    )
    assert "not shown" not in output


def test_layout_drops_the_least_important_columns_first() -> None:
    cols = [Col("a"), Col("b", priority=5), Col("c", priority=1)]
    texts = {"a": ["x" * 20], "b": ["y" * 20], "c": ["z" * 20]}
    # Each column needs its width + 3 (padding, border), plus 1 for the left border.
    assert layout(cols, texts, 70) == {"a": 20, "b": 20, "c": 20}
    assert layout(cols, texts, 62) == {"a": 20, "b": 12, "c": 20}  # b squeezed to 12
    assert layout(cols, texts, 61) == {"a": 20, "c": 20}  # b, the least important, dropped
    assert layout(cols, texts, 30) == {"a": 20}
    assert layout(cols, texts, 10) == {"a": 6}  # the first column is always shown
    # A column to keep narrows the others rather than being dropped.
    kept = [Col("a"), Col("b", priority=5, keep=True), Col("c", priority=1)]
    assert layout(kept, texts, 61) == {"a": 20, "b": 12, "c": 20 - 1}


def test_dropped_columns_are_named_and_json_keeps_every_field(cli: Cli) -> None:
    table = cli("events", "list", "--app", "demo", "--limit", "3").stdout
    assert "not shown at 80 columns:" in table
    assert "version" in table.split("not shown at 80 columns:")[1]
    rows = json.loads(cli("events", "list", "--app", "demo", "--limit", "3", "-f", "json").stdout)
    assert {"event_id", "session_id", "properties", "context"} <= set(rows[0])


def test_cells_never_cut_a_long_word(cli: Cli) -> None:
    key = "a-flag-with-a-rather-long-key-name-that-cannot-fit-in-one-cell-at-80-columns"
    cli("flags", "create", key, "--app", "demo")
    output = cli("flags", "show", key, "--app", "demo").stdout
    assert "…" not in output
    assert key in "".join(cells(output))  # folded over several lines, every character kept
