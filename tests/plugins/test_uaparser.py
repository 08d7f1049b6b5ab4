"""The bundled ua-parser plugin on real user agents, through the capture API."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

import eventkit_uaparser
from eventkit.config import Settings
from eventkit.storage.apps import create_app as create_tracked_app
from tests.factories import make_event
from tests.inprocess import api_client, bearer
from tests.plugins.conftest import Use
from tests.plugins.helpers import batch, stored

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
)
GALAXY_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)


def test_parse_real_user_agents() -> None:
    assert eventkit_uaparser.parse_user_agent(IPHONE_SAFARI) == {
        "os": {"name": "iOS", "version": "17.1"},
        "device": {"family": "iPhone", "brand": "Apple", "model": "iPhone"},
        "browser": {"name": "Mobile Safari", "version": "17.1"},
    }
    assert eventkit_uaparser.parse_user_agent(GALAXY_CHROME) == {
        "os": {"name": "Android", "version": "14"},
        "device": {"family": "Samsung SM-S918B", "brand": "Samsung", "model": "SM-S918B"},
        "browser": {"name": "Chrome Mobile", "version": "120.0"},
    }
    assert eventkit_uaparser.parse_user_agent("okhttp/4.12.0") == {
        "browser": {"name": "okhttp", "version": "4.12"}
    }


def test_client_context_wins_and_nothing_to_do_is_none() -> None:
    ev = make_event(
        1,
        platform=None,
        context={"userAgent": GALAXY_CHROME, "os": {"name": "Android", "version": "14.1"}},
    )
    out = eventkit_uaparser.eventkit_enrich_event(ev, user_agent=IPHONE_SAFARI)
    assert out.context["os"] == {"name": "Android", "version": "14.1"}  # the client's
    assert out.context["device"]["model"] == "SM-S918B"  # from context.userAgent
    assert out.platform == "android"
    assert eventkit_uaparser.eventkit_enrich_event(make_event(1), user_agent=None) is None


async def test_enriches_stored_events_from_the_header(
    settings: Settings, engine: Engine, use_plugins: Use
) -> None:
    use_plugins(eventkit_uaparser)
    keys = create_tracked_app(engine, "ua")
    body = batch("from_header")
    body["events"].append(
        {**batch("from_context")["events"][0], "context": {"userAgent": GALAXY_CHROME}}
    )
    async with api_client(settings) as client:
        r = await client.post(
            "/v1/events", json=body, headers={**bearer(keys.write_key), "User-Agent": IPHONE_SAFARI}
        )
    assert r.json()["accepted"] == 2
    rows = stored(engine, keys.app_id)
    h = rows["from_header"]
    assert h["platform"] == "ios"
    assert h["context"]["os"] == {"name": "iOS", "version": "17.1"}
    assert h["context"]["device"] == {"family": "iPhone", "brand": "Apple", "model": "iPhone"}
    assert "userAgent" not in h["context"]
    c = rows["from_context"]
    assert c["platform"] == "android"
    assert c["context"]["device"]["brand"] == "Samsung"
    assert c["context"]["userAgent"] == GALAXY_CHROME  # the client's field is kept


@pytest.mark.parametrize("ua", ["", "x" * 5000, "\x00\x01garbage"])
def test_odd_user_agents_are_harmless(ua: str) -> None:
    ev = make_event(1, context={"userAgent": ua})
    out = eventkit_uaparser.eventkit_enrich_event(ev, user_agent=None)
    assert out is None or out.event_id == ev.event_id
