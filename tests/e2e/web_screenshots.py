"""Write the dashboard screenshots in docs/web/ from the real app in Chromium.

    python -m tests.e2e.web_screenshots          # docs/web/<page>-light.png, -dark.png

A real ``eventkit serve`` on the deterministic demo dataset (the same data and fixed end
time as the tests), Debian's /usr/bin/chromium driven by Playwright, the light and the
dark theme (``prefers-color-scheme``). A rerun changes a picture only when the page did.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright
from typer.testing import CliRunner

from eventkit.cli.app import app as cli_app
from tests.conftest import make_settings
from tests.e2e.conftest import running
from tests.tui.dataset import build_demo_db

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
Q = "since=2026-06-16&until=2026-06-30T12:00:00Z"
STEPS = "step=signup_completed&step=onboarding_completed&step=purchase_completed&window=7d"
#: (file name, path after the server URL)
SHOTS = (
    ("overview", f"/apps/demo/overview?{Q}"),
    ("trends", f"/apps/demo/trends?{Q}&event=%24screen&by=platform"),
    ("funnels", f"/apps/demo/funnels?{Q}&{STEPS}"),
    ("retention", f"/apps/demo/retention?{Q}"),
    ("sessions", f"/apps/demo/sessions?{Q}"),
    ("live", "/apps/demo/live"),
    ("users", "/apps/demo/users?user=user-0000007"),
    ("flags", "/apps/demo/flags/new_checkout"),
    ("experiments", "/apps/demo/experiments/checkout-test"),
    ("share", "SHARE"),
)


def _cli(db: str, *args: str) -> str:
    out = CliRunner().invoke(
        cli_app, list(args), env={"EVENTKIT_DATABASE_URL": db, "COLUMNS": "250"}
    )
    assert out.exit_code == 0, out.output
    return out.stdout


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{Path(tmp) / 'demo.db'}"
        build_demo_db(make_settings(db))
        pw = re.search(
            r"password \(shown once\): (\S+)",
            _cli(db, "members", "add", "ada", "--role", "admin", "--password"),
        )
        share = re.search(
            r"/share/(\S+)",
            _cli(
                db,
                "share",
                "create",
                "--app",
                "demo",
                "--page",
                "overview",
                "--page",
                "funnels",
                "--query",
                Q,
            ),
        )
        assert pw and share
        with (
            running(db, Path(tmp) / "server", {"EVENTKIT_INGEST__WRITER": "thread"}) as srv,
            sync_playwright() as p,
        ):
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            for scheme in ("light", "dark"):
                ctx = browser.new_context(
                    viewport={"width": 1280, "height": 860}, color_scheme=scheme
                )
                page = ctx.new_page()
                page.goto(f"{srv.url}/login")
                page.fill("input[name=name]", "ada")
                page.fill("input[name=password]", pw.group(1))
                page.click("button[type=submit]")
                page.wait_for_url(re.compile("/apps/"))
                for name, path in SHOTS:
                    if path == "SHARE":
                        ctx.clear_cookies()
                        path = f"/share/{share.group(1)}/overview?{Q}"
                    page.goto(f"{srv.url}{path}")
                    target = out / f"{name}-{scheme}.png"
                    page.screenshot(path=str(target), full_page=False)
                    print(f"wrote {target}")
                ctx.close()
            browser.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[2] / "docs" / "web")
