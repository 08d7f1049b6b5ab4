"""Every page's ``.json`` and ``.csv`` are, byte for byte, what the CLI prints with
``--format json|csv`` for the same parameters (the reports themselves are checked
against raw events in tests/reports)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from eventkit.cli.app import app as cli_app
from tests.web.conftest import SINCE, UNTIL, Site

R = ["--since", SINCE, "--until", UNTIL]
Q = f"since={SINCE}&until={UNTIL}"
STEPS = ["signup_completed", "onboarding_completed", "purchase_completed"]
STEP_Q = "&".join(f"step={s}" for s in STEPS)

#: (web path and query, CLI arguments before --format)
CASES = [
    (f"overview?{Q}", ["report", "overview", "--app", "demo", *R]),
    (
        f"overview?{Q}&where=platform%3Dios",
        ["report", "overview", "--app", "demo", *R, "--where", "platform=ios"],
    ),
    (f"trends?{Q}", ["report", "trends", "--app", "demo", *R]),
    (
        f"trends?{Q}&event=%24screen&by=platform&compare=1",
        [
            "report",
            "trends",
            "--app",
            "demo",
            *R,
            "--event",
            "$screen",
            "--by",
            "platform",
            "--compare",
        ],
    ),
    (
        f"trends?{Q}&measure=users&interval=week",
        ["report", "trends", "--app", "demo", *R, "--measure", "users", "--interval", "week"],
    ),
    (
        f"funnels?{Q}&{STEP_Q}&window=7d",
        ["report", "funnel", *STEPS, "--app", "demo", *R, "--window", "7d"],
    ),
    (
        f"funnels?{Q}&{STEP_Q}&by=platform",
        ["report", "funnel", *STEPS, "--app", "demo", *R, "--by", "platform"],
    ),
    (
        f"funnels?{Q}&{STEP_Q}&users_at=2&status=dropped",
        ["report", "funnel", *STEPS, "--app", "demo", *R, "--users-at", "2", "--status", "dropped"],
    ),
    (f"retention?{Q}", ["report", "retention", "--app", "demo", *R]),
    (
        f"retention?{Q}&interval=week&periods=3&return_event=purchase_completed",
        [
            "report",
            "retention",
            "--app",
            "demo",
            *R,
            "--interval",
            "week",
            "--periods",
            "3",
            "--return-event",
            "purchase_completed",
        ],
    ),
    (f"sessions?{Q}", ["sessions", "stats", "--app", "demo", *R]),
    (f"sessions?{Q}&by=platform", ["sessions", "stats", "--app", "demo", *R, "--by", "platform"]),
    (
        f"sessions?{Q}&view=list&limit=20",
        ["sessions", "list", "--app", "demo", *R, "--limit", "20"],
    ),
    ("users?user=user-0000007", ["users", "show", "user-0000007", "--app", "demo"]),
    ("users", ["events", "list", "--app", "demo"]),
    (
        "live?name=purchase_completed&limit=30",
        ["events", "list", "--app", "demo", "--name", "purchase_completed", "--limit", "30"],
    ),
    ("flags", ["flags", "list", "--app", "demo"]),
    ("flags/new_checkout", ["flags", "show", "new_checkout", "--app", "demo"]),
    ("flags/new_checkout?view=history", ["flags", "history", "new_checkout", "--app", "demo"]),
    ("experiments", ["experiments", "list", "--app", "demo"]),
    ("experiments/checkout-test", ["experiments", "results", "checkout-test", "--app", "demo"]),
]


def _twin(path: str, fmt: str) -> str:
    page, _, query = path.partition("?")
    return f"/apps/demo/{page}.{fmt}" + (f"?{query}" if query else "")


@pytest.mark.parametrize(("path", "args"), CASES, ids=[c[0][:40] for c in CASES])
def test_json_and_csv_equal_the_cli(site: Site, path: str, args: list[str]) -> None:
    client = site.as_("viewer")
    env = {"EVENTKIT_DATABASE_URL": site.settings.database_url, "COLUMNS": "250"}
    runner = CliRunner()
    for fmt in ("json", "csv"):
        web = client.get(_twin(path, fmt))
        assert web.status_code == 200, web.text
        cli = runner.invoke(cli_app, [*args, "--format", fmt], env=env, catch_exceptions=False)
        assert cli.exit_code == 0, cli.output
        assert web.text.replace("\r\n", "\n") == cli.stdout.replace("\r\n", "\n"), (fmt, path)
    # The HTML page of the same URL renders from the same data.
    assert client.get(f"/apps/demo/{path}").status_code == 200


def test_session_twins_equal_sessions_show(site: Site) -> None:
    client = site.as_("viewer")
    sid = client.get(f"/apps/demo/sessions.json?{Q}&view=list&limit=1").json()[0]["id"]
    env = {"EVENTKIT_DATABASE_URL": site.settings.database_url}
    for fmt in ("json", "csv"):
        cli = CliRunner().invoke(
            cli_app, ["sessions", "show", sid, "--app", "demo", "--format", fmt], env=env
        )
        web = client.get(f"/apps/demo/sessions/{sid}.{fmt}").text
        assert web.replace("\r\n", "\n") == cli.stdout.replace("\r\n", "\n")


def test_the_html_shows_the_twins_numbers(site: Site) -> None:
    client = site.as_("viewer")
    data = client.get(f"/apps/demo/overview.json?{Q}").json()
    html = client.get(f"/apps/demo/overview?{Q}").text
    for row in data["rows"]:
        if isinstance(row["value"], int):
            assert f'data-metric="{row["metric"]}">{row["value"]:,}<' in html, row
    funnel = client.get(f"/apps/demo/funnels.json?{Q}&{STEP_Q}").json()
    html = client.get(f"/apps/demo/funnels?{Q}&{STEP_Q}").text
    assert f'data-metric="entered">{funnel["meta"]["entered"]:,}<' in html
    for row in funnel["rows"]:
        assert f'data-col="users">{row["users"]}<' in html
