"""The installed ``eventkit`` console script: exit codes and one-line errors for real."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eventkit import __version__

EVENTKIT = shutil.which("eventkit", path=str(Path(sys.executable).parent)) or "eventkit"


def eventkit(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("EVENTKIT_")}
    environ.update({"EVENTKIT_LOAD_PLUGINS": "0", "COLUMNS": "200", **env})
    return subprocess.run(
        [EVENTKIT, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=60
    )


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_version(tmp_path: Path) -> None:
    proc = eventkit("--version", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"eventkit {__version__}"


def test_duplicate_app_exits_1_with_one_line(database_url: str, tmp_path: Path) -> None:
    assert (
        eventkit("db", "upgrade", cwd=tmp_path, EVENTKIT_DATABASE_URL=database_url).returncode == 0
    )
    first = eventkit("apps", "create", "dup", cwd=tmp_path, EVENTKIT_DATABASE_URL=database_url)
    assert first.returncode == 0, first.stderr
    assert "ek_write_" in first.stdout
    again = eventkit("apps", "create", "dup", cwd=tmp_path, EVENTKIT_DATABASE_URL=database_url)
    assert_one_line_error(again, "an app named 'dup' already exists")
    assert again.stdout == ""


def test_invalid_setting_exits_1_naming_the_key(tmp_path: Path) -> None:
    proc = eventkit("config", "show", cwd=tmp_path, EVENTKIT_LIMITS__MAX_BATCH_EVENTS="0")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: invalid configuration")
    assert "limits.max_batch_events" in proc.stderr
    assert "EVENTKIT_LIMITS__MAX_BATCH_EVENTS" in proc.stderr


def test_serve_without_migrations_exits_1_saying_what_to_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    proc = eventkit("serve", "--no-migrate", "--port", "1", cwd=tmp_path, EVENTKIT_DATABASE_URL=url)
    assert_one_line_error(proc, "migrations are pending", "eventkit db upgrade")


@pytest.mark.parametrize(
    "args", [["frobnicate"], ["apps", "create"], ["events", "list", "--limit", "0"]]
)
def test_usage_errors_exit_2(args: list[str], tmp_path: Path) -> None:
    proc = eventkit(*args, cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert "Usage" in proc.stderr


def test_python_dash_m_is_the_same_cli(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "eventkit", "--version"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"eventkit {__version__}"
