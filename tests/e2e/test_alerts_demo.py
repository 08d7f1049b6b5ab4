"""The issue's "done when", end to end: on the demo data, one `eventkit alerts create`
per rule, then `eventkit serve` delivers an email to a real SMTP server (STARTTLS with a
trustme certificate, AUTH) when the seeded crash regression appears, and `eventkit
report releases --app demo` shows the crash-free drop of that version beside the
oracle's figure."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventkit.demo.releases import RELEASE
from eventkit.storage.engine import make_engine
from eventkit.timeutil import US_PER_DAY, from_us, now_us
from tests.alerts.servers import Mailbox, smtp_server
from tests.conftest import make_settings
from tests.e2e.conftest import running
from tests.releases import oracle

pytestmark = pytest.mark.e2e


def cli(db: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTKIT_")}
    env.update({"EVENTKIT_DATABASE_URL": db, "EVENTKIT_LOAD_PLUGINS": "0", "COLUMNS": "200"})
    done = subprocess.run([sys.executable, "-m", "eventkit", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, f"eventkit {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    with smtp_server(tmp_path) as box:
        yield box


def test_demo_crash_regression_is_emailed_and_reported(tmp_path: Path, mailbox: Mailbox) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    cli(db, tmp_path, "db", "upgrade")
    cli(db, tmp_path, "demo", "--users", "800", "--days", "14")
    cli(db, tmp_path, "alerts", "create", "crash-free", "--app", "demo",
        "--metric", "crash_free_users", "--below", "98", "--email", "team@example.com")  # fmt: skip
    env = {
        **mailbox.env(),
        "EVENTKIT_ALERTS__INTERVAL_SECONDS": "1",
        "EVENTKIT_ALERTS__SETTLE_SECONDS": "60",
        "EVENTKIT_RELEASES__INTERVAL_SECONDS": "1",
        "EVENTKIT_SESSIONS__SUBPROCESS": "false",
    }
    with running(db, tmp_path / "server", env) as srv:
        deadline = time.monotonic() + 60
        while not mailbox.messages:
            assert time.monotonic() < deadline, f"no email within 60 s\n{srv.output()}"
            time.sleep(0.2)
        time.sleep(2)  # one alert: no second email on the following runs
    [mail] = mailbox.messages
    assert mailbox.envelopes[0]["tls"] and mailbox.envelopes[0]["authenticated"]
    assert mail["To"] == "team@example.com"
    assert f"crash-free users of {RELEASE}" in mail["Subject"]
    body = mail.get_body(("plain",)).get_content()
    # The figure in the email is yesterday's crash-free users of the release (the
    # latest complete UTC day), as the oracle computes it from the raw events.
    now = now_us()
    today = now - now % US_PER_DAY
    engine = make_engine(make_settings(db))
    try:
        rows = oracle.load(engine)
    finally:
        engine.dispose()
    day = oracle.health(rows, today - US_PER_DAY, today)[(RELEASE, "ios")]
    want_day = round(100.0 * (1 - len(day.crashed_users) / len(day.users)), 2)
    assert want_day < 98
    assert f"value:      {want_day:.2f}%" in body
    assert "eventkit report releases --app demo --version 3.5.0" in body
    # The report: the release's crash-free users beside the older versions', equal to
    # the oracle over the same range.
    since, until = from_us(today - 3 * US_PER_DAY).isoformat(), from_us(today).isoformat()
    report = json.loads(cli(db, tmp_path, "report", "releases", "--app", "demo", "--since",
                            since, "--until", until, "--format", "json").stdout)  # fmt: skip
    got = {(r["app_version"], r["platform"]): r for r in report["rows"]}
    want = oracle.health(rows, today - 3 * US_PER_DAY, today)
    for key in [(RELEASE, "ios"), ("3.4.1", "ios")]:
        w = want[key]
        assert got[key]["users"] == len(w.users)
        assert got[key]["crash_free_users_pct"] == round(
            100.0 * (1 - len(w.crashed_users) / len(w.users)), 2)  # fmt: skip
    assert got[(RELEASE, "ios")]["crash_free_users_pct"] < 98 < got[("3.4.1", "ios")][
        "crash_free_users_pct"]  # fmt: skip
    table = cli(db, tmp_path, "report", "releases", "--app", "demo", "--since", since,
                "--until", until).stdout  # fmt: skip
    assert RELEASE in table and "3.4.1" in table and "crash-free users" in table
