"""The dashboard in a real browser: Debian's Chromium driven by Playwright against a
real ``eventkit serve`` on the deterministic demo data. A new admin follows the printed
steps, every page shows the numbers ``--format json`` prints, an editor toggles a flag
and sees the history entry, the Live page streams a new event, and a share link works
signed out while nothing else does.

One browser and one server for the module (about half a minute of CI time)."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from eventkit.cli.app import app as cli_app
from tests.conftest import make_settings
from tests.e2e.conftest import ServerProcess, running
from tests.tui.dataset import build_demo_db

playwright = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SINCE, UNTIL = "2026-06-16", "2026-06-30T12:00:00Z"
Q = f"since={SINCE}&until={UNTIL}"
STEPS = ["signup_completed", "onboarding_completed", "purchase_completed"]
PW = "correct horse battery"


def eventkit(db: str, *args: str) -> str:
    """Run the CLI (in this process: a second interpreter per call costs seconds) on the
    server's database; its stdout."""
    env = {
        k: None for k in os.environ if k.startswith("EVENTKIT_") and k != "EVENTKIT_LOAD_PLUGINS"
    }
    done = CliRunner().invoke(
        cli_app, list(args), env={**env, "EVENTKIT_DATABASE_URL": db, "COLUMNS": "250"}
    )
    assert done.exit_code == 0, done.output
    return done.stdout


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server on the demo data (SQLite), with no member yet."""
    path = tmp_path_factory.mktemp("web-e2e") / "demo.db"
    url = f"sqlite:///{path}"
    build_demo_db(make_settings(url))
    env = {"EVENTKIT_INGEST__WRITER": "thread", "EVENTKIT_WEB__LIVE_POLL_SECONDS": "0.2"}
    with running(url, tmp_path_factory.mktemp("web-server"), env) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("no /usr/bin/chromium: apt-get install chromium")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def admin(web_server: ServerProcess, browser: Any) -> Iterator[Any]:
    """The first admin, created the way serve's first-start message says."""
    out = web_server.stdout
    assert (
        "eventkit members add NAME --role admin" in out and f"{web_server.url.split(':')[0]}" in out
    )
    printed = eventkit(web_server.database_url, "members", "add", "root", "--role", "admin")
    link = re.search(r"/welcome/(\S+)", printed)
    assert link, printed
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(f"{web_server.url}/welcome/{link.group(1)}")
    page.fill("input[name=password]", PW)
    page.fill("input[name=confirm]", PW)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/apps/demo/overview"))
    yield page
    ctx.close()


def _metric(page: Any, name: str) -> str:
    return str(page.locator(f'[data-metric="{name}"]').first.inner_text()).replace(",", "")


def test_every_page_shows_the_cli_numbers(web_server: ServerProcess, admin: Any) -> None:
    db, base = web_server.database_url, f"{web_server.url}/apps/demo"
    rng = ["--app", "demo", "--since", SINCE, "--until", UNTIL, "--format", "json"]
    admin.goto(f"{base}/overview?{Q}")
    overview = json.loads(eventkit(db, "report", "overview", *rng))
    for row in overview["rows"]:
        if isinstance(row["value"], int):
            assert _metric(admin, row["metric"]) == str(row["value"]), row
    assert admin.locator("svg.chart title").first.text_content() == "Events per day"
    admin.goto(f"{base}/trends?{Q}&event=%24screen")
    trends = json.loads(eventkit(db, "report", "trends", "--event", "$screen", *rng))
    assert _metric(admin, "total") == str(trends["meta"]["total"])
    admin.goto(f"{base}/funnels?{Q}&" + "&".join(f"step={s}" for s in STEPS))
    funnel = json.loads(eventkit(db, "report", "funnel", *STEPS, *rng))
    assert _metric(admin, "entered") == str(funnel["meta"]["entered"])
    cells = admin.locator('td[data-col="users"]').all_inner_texts()
    assert cells == [str(r["users"]) for r in funnel["rows"]]
    admin.goto(f"{base}/retention?{Q}")
    retention = json.loads(eventkit(db, "report", "retention", *rng))
    first = admin.locator("table.heat tbody tr").first
    assert first.locator('td[data-col="users"]').inner_text() == str(retention["rows"][0]["users"])
    assert first.locator('td[data-col="1"]').inner_text() == str(retention["rows"][0]["1"])
    admin.goto(f"{base}/sessions?{Q}&by=total")
    stats = json.loads(eventkit(db, "sessions", "stats", "--by", "total", *rng))
    assert _metric(admin, "sessions") == str(stats[-1]["sessions"])
    admin.goto(f"{base}/experiments/checkout-test")
    readout = json.loads(
        eventkit(db, "experiments", "results", "checkout-test", "--app", "demo", "--format", "json")
    )
    exposed = admin.locator('td[data-col="exposed"]').all_inner_texts()
    assert exposed == [f"{v['exposed']:,}" for v in readout["variants"]]
    assert admin.locator('[data-metric="verdict"]').inner_text() == readout["verdict"]
    for name in ("users", "flags", "live", "experiments"):
        admin.goto(f"{base}/{name}?{Q}")
        assert admin.locator("h1").first.inner_text().lower().startswith(name[:-1])
    # The theme toggle switches and remembers.
    admin.click("[data-theme-toggle]")
    theme = admin.evaluate("document.documentElement.dataset.theme")
    admin.reload()
    assert admin.evaluate("document.documentElement.dataset.theme") == theme


def test_an_editor_toggles_a_flag_and_sees_the_history(
    web_server: ServerProcess, browser: Any
) -> None:
    out = eventkit(
        web_server.database_url,
        "members",
        "add",
        "eddie",
        "--role",
        "editor",
        "--app",
        "demo",
        "--password",
    )
    password = re.search(r"password \(shown once\): (\S+)", out)
    assert password
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(f"{web_server.url}/login")
    page.fill("input[name=name]", "eddie")
    page.fill("input[name=password]", password.group(1))
    page.click("button[type=submit]")
    page.goto(f"{web_server.url}/apps/demo/flags/new_checkout")
    before = page.locator("[data-flag-state]").inner_text()
    page.click("button[data-toggle]")
    assert "Change flag" in page.locator("h1").inner_text()  # the confirmation
    page.click("button[data-confirm]")
    page.wait_for_url(re.compile(r"/flags/new_checkout$"))
    assert page.locator("[data-flag-state]").inner_text() != before
    assert page.locator('table.history td[data-col="actor"]').first.inner_text() == "web:eddie"
    history = json.loads(
        eventkit(
            web_server.database_url,
            "flags",
            "history",
            "new_checkout",
            "--app",
            "demo",
            "--format",
            "json",
        )
    )
    assert history[-1]["actor"] == "web:eddie"
    ctx.close()


def test_live_streams_a_new_event(web_server: ServerProcess, admin: Any) -> None:
    out = eventkit(web_server.database_url, "keys", "rotate", "demo", "--kind", "write")
    key = re.search(r"(ek_write_\S+)", out)
    assert key
    admin.goto(f"{web_server.url}/apps/demo/live?name=browser_test")
    admin.wait_for_selector("[data-live-status]:has-text('live')")
    now = datetime.now(UTC).isoformat()
    event = {
        "event_id": str(uuid.uuid4()),
        "name": "browser_test",
        "timestamp": now,
        "anonymous_id": "device-browser",
        "properties": {"n": 1},
    }
    r = httpx.post(
        f"{web_server.url}/v1/events",
        json={"events": [event]},
        headers={"Authorization": f"Bearer {key.group(1)}"},
    )
    assert r.status_code == 200, r.text
    row = admin.locator("table.live tbody tr.new").first
    row.wait_for(timeout=10_000)
    assert "device-browser" in row.inner_text()


def test_a_share_link_works_signed_out_and_nothing_else_does(
    web_server: ServerProcess, browser: Any
) -> None:
    out = eventkit(
        web_server.database_url,
        "share",
        "create",
        "--app",
        "demo",
        "--page",
        "overview",
        "--query",
        Q.replace("&", "&"),
    )
    link = re.search(r"(http://\S+/share/\S+)", out)
    assert link
    url = link.group(1).replace("http://localhost:8000", web_server.url)
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(url)
    page.wait_for_url(re.compile(r"/share/.+/overview\?since="))
    assert int(_metric(page, "events")) > 0
    assert "read-only link" in page.content()
    assert page.locator("a[href*='/admin/'], a[href*='/flags/']").count() == 0
    page.goto(url.rsplit("/share/", 1)[0].replace("localhost:8000", "") + "/share/x/trends")
    assert page.locator("h1").inner_text() == "Not found"
    page.goto(f"{web_server.url}/apps/demo/overview")
    page.wait_for_url(re.compile(r"/login"))
    ctx.close()
