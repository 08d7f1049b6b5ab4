"""The wheel carries every template and static asset of the dashboard (it must work
after ``pip install`` with no internet and no build step)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).parents[2]
WEB = ROOT / "eventkit" / "web"


def test_a_built_wheel_contains_the_templates_and_assets(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("eventkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = [p for d in ("templates", "static") for p in (WEB / d).iterdir()]
    assert len(wanted) > 20
    for path in wanted:
        assert str(path.relative_to(ROOT)) in names, path
