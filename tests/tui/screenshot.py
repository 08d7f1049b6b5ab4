"""Write the dashboard screenshots in docs/ from the real app on the demo dataset.

    python -m tests.tui.screenshot          # docs/dashboard.svg, docs/dashboard-*.svg

The same deterministic data and pinned clock as the snapshot tests, so a rerun only
changes the pictures when the dashboard changed.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from textual._doc import take_svg_screenshot

from eventkit.storage.engine import make_engine
from tests.conftest import make_settings
from tests.tui.conftest import SIZE, dashboard_app, settle
from tests.tui.dataset import build_demo_db

#: (file, start screen, keys pressed after the data is on screen)
SHOTS = (
    ("dashboard.svg", "overview", ()),
    ("dashboard-reports.svg", "reports", ("f",)),
    ("dashboard-experiments.svg", "experiments", ()),
)


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = make_settings(f"sqlite:///{Path(tmp) / 'demo.db'}")
        build_demo_db(settings)
        engine = make_engine(settings)
        for name, start, keys in SHOTS:
            app = dashboard_app(engine, settings, start=start)

            async def before(pilot: Any, keys: tuple[str, ...] = keys) -> None:
                await settle(pilot)
                await pilot.press(*keys)
                await settle(pilot)

            svg = take_svg_screenshot(app, terminal_size=SIZE, run_before=before,
                                      title="eventkit dashboard")  # fmt: skip
            (out / name).write_text(svg)
            print(f"wrote {out / name}")
        engine.dispose()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[2] / "docs")
