"""Rules on release health and funnels, and digests, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from eventkit.alerts import get_rule, list_deliveries, preview_digest
from eventkit.alerts.digest import digest_period, run_digests
from eventkit.alerts.evaluate import evaluate_rules
from eventkit.alerts.spec import DigestSpec, parse_spec
from eventkit.alerts.store import create_rule
from eventkit.config import Settings
from eventkit.releases import run_releases
from eventkit.sessions.job import run_sessions_job
from eventkit.storage.events import EventStore
from eventkit.timeutil import US_PER_DAY, US_PER_HOUR, US_PER_SECOND
from tests.alerts.conftest import SETTLE
from tests.alerts.test_evaluate import MAIL, kinds, rule
from tests.releases import oracle
from tests.releases.dataset import END, START, dataset


@pytest.fixture
def releases_app(app: Engine, alert_settings: Settings) -> Engine:
    EventStore(app).write(dataset())
    s = alert_settings.model_copy(
        update={"sessions": alert_settings.sessions.model_copy(update={"settle_seconds": 0.0})}
    )
    run_sessions_job(app, s, now=END + US_PER_DAY)
    return app


def test_crash_free_users_of_the_latest_release(releases_app: Engine,
                                                alert_settings: Settings) -> None:  # fmt: skip
    rule(releases_app, "crash-free", metric={"kind": "crash_free_users", "platform": "ios"},
         condition={"kind": "below", "threshold": 95}, interval="day")  # fmt: skip
    rule(releases_app, "android-ok", metric={"kind": "crash_free_sessions",
                                             "platform": "android", "min_sample": 5},
         condition={"kind": "below", "threshold": 50}, interval="day")  # fmt: skip
    day = END - US_PER_DAY  # the last day of the data set
    now = END + (SETTLE + 1) * US_PER_SECOND
    run = evaluate_rules(releases_app, alert_settings, now=now)
    rows = oracle.load(releases_app)
    want = oracle.health(rows, day, END)[("1.1", "ios")]
    crash_free = 100.0 * (1 - len(want.crashed_users) / len(want.users))
    assert crash_free < 95  # 1 of 13 users crashed on the data set's last day
    assert run.outcomes["crash-free"] == "fired"
    assert run.outcomes["android-ok"] == "ok"
    [d] = list_deliveries(releases_app, 1)
    hook = d.message["webhook"]
    assert hook["value"] == pytest.approx(crash_free)
    assert hook["detail"]["version"] == "1.1" and hook["detail"]["users"] == len(want.users)
    assert "crash-free users of 1.1 (ios)" in d.message["subject"]
    assert "eventkit report releases --app demo --version 1.1 --platform ios" in d.message["text"]


def test_min_sample_keeps_tiny_buckets_quiet(releases_app: Engine,
                                             alert_settings: Settings) -> None:  # fmt: skip
    rule(releases_app, "hourly", metric={"kind": "crash_free_users", "min_sample": 1000},
         condition={"kind": "below", "threshold": 99.9}, interval="hour")  # fmt: skip
    run = evaluate_rules(releases_app, alert_settings, now=END - 5 * US_PER_HOUR)
    assert run.outcomes == {"hourly": "no_data"}


def test_funnel_conversion_waits_for_the_window(app: Engine, alert_settings: Settings) -> None:
    from tests.alerts.conftest import T0, spread

    events = spread("signup", T0 + 3600 * US_PER_SECOND, 3600 * US_PER_SECOND, 40)
    events += spread("purchase", T0 + 5 * 3600 * US_PER_SECOND, 3600 * US_PER_SECOND, 4)
    EventStore(app).write(events)
    rule(app, "conversion", metric={"kind": "funnel_conversion", "steps": ["signup", "purchase"],
                                    "window": "1d"},
         condition={"kind": "below", "threshold": 20}, interval="day")  # fmt: skip
    # The day's entrants have one more day to convert: not judged before T0 + 2 days.
    early = evaluate_rules(app, alert_settings, now=T0 + US_PER_DAY + 3600 * US_PER_SECOND)
    assert early.outcomes["conversion"] == "no_data"  # the day before T0 (no data yet)
    late = evaluate_rules(app, alert_settings, now=T0 + 2 * US_PER_DAY + 400 * US_PER_SECOND)
    assert late.outcomes == {"conversion": "fired"}
    assert list_deliveries(app, 1)[0].message["webhook"]["value"] == 10.0


def test_digest_once_per_period(releases_app: Engine, alert_settings: Settings) -> None:
    spec = parse_spec("digest", {"period": "weekly", "hour": 8, "destinations": MAIL,
                                 "funnels": [["$session_start", "$crash"]]})  # fmt: skip
    assert isinstance(spec, DigestSpec)
    create_rule(releases_app, 1, "digest", "weekly", spec, "test")
    run_releases(releases_app, alert_settings.releases)
    now = END + 2 * US_PER_DAY + 9 * US_PER_HOUR  # Wednesday 09:00 after the data's week
    start, end = digest_period(spec, now, SETTLE)
    assert (end - start) == 7 * US_PER_DAY and start <= END - US_PER_DAY < end + US_PER_DAY
    digest = get_rule(releases_app, 1, "digest", "weekly")
    content, message = preview_digest(releases_app, alert_settings, digest, now=now)
    rows = oracle.load(releases_app)
    users = len({r.actor for r in rows if r.actor and start <= r.ts < end})
    assert content["active_users"]["users"] == users
    assert content["events"]["count"] == sum(1 for r in rows if start <= r.ts < end)
    assert content["top_events"][0]["event"] == "$screen"
    assert content["funnels"][0]["steps"] == ["$session_start", "$crash"]
    assert {r["app_version"] for r in content["releases"]} >= {"1.1", "2.1"}
    assert "Active users" in message["text"] and message["subject"].startswith("[eventkit] demo")
    assert run_digests(releases_app, alert_settings, now=now) == {"weekly": "sent"}
    assert run_digests(releases_app, alert_settings, now=now + US_PER_HOUR) == {}
    assert kinds(releases_app) == ["digest"]
    assert START < END
