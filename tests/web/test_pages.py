"""Page behaviour in-process: flag changes need a confirmation and are audited under
the member's name, hostile event data is escaped everywhere (charts included), bad
parameters get a 400 that says what to fix, and the URL keeps the page's state."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventkit.capture.schema import CanonicalEvent
from eventkit.flags.store import get_flag, history
from eventkit.storage.apps import get_app
from eventkit.storage.events import EventStore
from eventkit.web.charts import bar_chart, line_chart, nice_ticks, number
from tests.tui.dataset import END
from tests.web.conftest import RANGE, Site, make_site

HOSTILE = '<script>alert("x")</script>'


@pytest.fixture(scope="module")
def pages(web_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from make_site(tmp_path_factory.mktemp("webpages"), web_template)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_a_flag_change_is_confirmed_then_audited(pages: Site) -> None:
    client = pages.as_("editor")
    app_id = get_app(pages.engine, "demo", count_events=False).id
    page = client.get("/apps/demo/flags/new_checkout")
    assert "Disable…" in page.text
    form = {"csrf": _csrf(page.text), "action": "rollout", "value": "25"}
    preview = client.post("/apps/demo/flags/new_checkout/change", data=form)
    assert preview.status_code == 200 and "Change flag" in preview.text
    assert "100%" in preview.text and "25%" in preview.text
    assert get_flag(pages.engine, app_id, "new_checkout").spec.rules[-1].rollout == 100
    done = client.post("/apps/demo/flags/new_checkout/change", data={**form, "confirmed": "1"})
    assert done.status_code == 303
    assert get_flag(pages.engine, app_id, "new_checkout").spec.rules[-1].rollout == 25
    last = history(pages.engine, app_id, "new_checkout")[-1]
    assert (last.actor, last.action, last.summary) == ("web:eddie", "rollout", "rollout 25%")
    # Bad rules JSON: a 400 that says what is wrong; nothing changes.
    bad = client.post(
        "/apps/demo/flags/new_checkout/change",
        data={**form, "action": "rules", "value": '[{"rollout": "x"}]'},
    )
    assert bad.status_code == 400 and "rules are not valid" in bad.text
    assert len(history(pages.engine, app_id, "new_checkout")) == 2


def test_hostile_event_data_is_escaped(pages: Site) -> None:
    app_id = get_app(pages.engine, "demo", count_events=False).id
    t = END - 3600_000_000
    EventStore(pages.engine).write(
        [
            CanonicalEvent(
                app_id=app_id,
                event_id=uuid.uuid4(),
                name=HOSTILE,
                timestamp=t,
                sent_at=None,
                received_at=t,
                ts=t,
                user_id=HOSTILE,
                anonymous_id=None,
                session_id=None,
                platform=HOSTILE,
                app_version="1",
                country=None,
                ip=None,
                source="native",
                properties={"k": HOSTILE},
                context={},
            )
        ]
    )
    client = pages.as_("admin")
    for path in (
        f"overview?{RANGE}",
        f"trends?{RANGE}&by=platform",
        "users",
        "live",
        f"trends?{RANGE}&event={HOSTILE}",
        f"users?user={HOSTILE}",
    ):
        body = client.get(f"/apps/demo/{path}").text
        assert HOSTILE not in body, path
        assert "<script>alert" not in body, path


def test_bad_parameters_say_what_to_fix(pages: Site) -> None:
    client = pages.as_("viewer")
    cases = {
        f"trends?{RANGE}&interval=fortnight": "interval must be one of",
        f"trends?{RANGE}&measure=avg": "cannot read the measure",
        "trends?since=yesterday": "cannot read the time",
        f"retention?{RANGE}&periods=99": "periods must be a whole number from 1 to 60",
        f"sessions?{RANGE}&by=colour": "by must be one of",
        f"trends?{RANGE}&where=nokey": "key=value",
    }
    for path, message in cases.items():
        r = client.get(f"/apps/demo/{path}")
        assert r.status_code == 400 and message in r.text, (path, r.text[:200])
        j = client.get(f"/apps/demo/{path.replace('?', '.json?', 1)}")
        assert j.status_code == 400 and message in j.json()["message"]


def test_links_keep_the_range_and_the_switcher_lists_visible_apps(pages: Site) -> None:
    body = pages.as_("viewer").get(f"/apps/demo/trends?{RANGE}&event=%24screen").text
    link = re.search(r'href="/apps/demo/funnels\?([^"]+)"', body)
    assert link
    assert sorted(link.group(1).split("&amp;")) == [
        "since=2026-06-16",
        "until=2026-06-30T12%3A00%3A00Z",
    ]  # the range goes along, the page's own parameters (event) do not
    assert "zzother" not in body  # vera sees demo only
    assert "zzother" in pages.as_("admin").get(f"/apps/demo/trends?{RANGE}").text


def test_charts() -> None:
    assert nice_ticks(0) == [0.0, 1.0]
    assert nice_ticks(1234) == [0, 500, 1000, 1500]
    assert number(1234567) == "1,234,567" and number(None) == "-" and number(0.25, 2) == "0.25"
    svg = line_chart(["2026-01-01", "2026-01-02"], {HOSTILE: [1, 2], "b": [3, 4]}, title=HOSTILE)
    assert "<script" not in svg and "&lt;script&gt;" in svg
    assert svg.count("<polyline") == 2 and "legend" in svg
    assert "2026-01-02\n" in svg and "b: 4" in svg  # the hover title of a point
    bars = bar_chart(["a", "b"], [10, 5], title="t", notes=["n1", "n2"])
    assert bars.count("<rect") == 2 and "b: 5\nn2" in bars


def test_base_path_and_disabled(web_template: Path, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    for site in make_site(tmp_path / "a", web_template, WEB__BASE_PATH="/dashboard"):
        client = site.as_("viewer")
        assert client.get("/apps/demo/overview").status_code == 404
        page = client.get(f"/dashboard/apps/demo/overview?{RANGE}")
        assert page.status_code == 200
        assert 'href="/dashboard/static/app.css' in page.text
        assert 'href="/dashboard/apps/demo/trends?' in page.text
        assert client.get("/dashboard/static/app.css").status_code == 200
        out = site.as_("signed_out").get("/dashboard/apps/demo/overview")
        assert out.headers["location"].startswith("/dashboard/login?next=/dashboard/apps/")
        login = site.as_("signed_out").get("/dashboard/login")
        assert "Path=/dashboard" in login.headers["set-cookie"]
    (tmp_path / "b").mkdir()
    for site in make_site(tmp_path / "b", web_template, WEB__ENABLED="false"):
        assert site.as_("admin").get("/login").status_code == 404
        assert site.as_("admin").get("/apps/demo/overview").status_code == 404


def test_base_path_is_validated() -> None:
    from eventkit.errors import ConfigError
    from tests.conftest import make_settings

    assert make_settings("sqlite://", WEB__BASE_PATH="dash/").web.base_path == "/dash"
    for bad in ("/v1", "/a b", "/schema"):
        with pytest.raises(ConfigError, match=r"web\.base_path"):
            make_settings("sqlite://", WEB__BASE_PATH=bad)
