"""The Live stream (Server-Sent Events): new events with the page's filters, resumed
exactly from ``Last-Event-ID``, refused to anyone who may not see the app."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from eventkit.capture.schema import CanonicalEvent
from eventkit.storage.apps import get_app
from eventkit.storage.events import EventStore, last_event_id
from eventkit.timeutil import now_us
from tests.web.conftest import Site, make_site


@pytest.fixture(scope="module")
def live(web_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield from make_site(
        tmp_path_factory.mktemp("weblive"), web_template, WEB__LIVE_POLL_SECONDS="0.05"
    )


def _event(app_id: int, name: str, **props: str) -> CanonicalEvent:
    t = now_us()
    return CanonicalEvent(
        app_id=app_id,
        event_id=uuid.uuid4(),
        name=name,
        timestamp=t,
        sent_at=None,
        received_at=t,
        ts=t,
        user_id="live-user",
        anonymous_id="dev-live",
        session_id=None,
        platform="ios",
        app_version="1.0",
        country=None,
        ip="10.0.0.1",
        source="native",
        properties=dict(props),
        context={},
    )


def _read(site: Site, who: str, query: str, headers: dict[str, str], want: int) -> list[dict]:
    """Messages of one stream until ``want`` events arrived (or the stream ended)."""
    client = site.as_(who)
    out: list[dict] = []
    with client.stream("GET", f"/apps/demo/live/stream?{query}", headers=headers) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        block: dict[str, str] = {}
        for line in r.iter_lines():
            if line == "":
                if block:
                    out.append(block)
                block = {}
                if sum(1 for m in out if m.get("event") == "event") >= want:
                    break
                continue
            key, _, value = line.partition(":")
            block[key] = value.strip()
    return out


def test_new_events_stream_with_filters_and_resume(live: Site) -> None:
    app_id = get_app(live.engine, "demo", count_events=False).id
    store = EventStore(live.engine)

    def write_later() -> None:
        time.sleep(0.5)
        store.write(
            [
                _event(app_id, "tapped", button="buy"),
                _event(app_id, "tapped", button="x"),
                _event(app_id, "viewed"),
            ]
        )

    threading.Thread(target=write_later).start()
    msgs = _read(live, "viewer", "name=tapped&where=button%3Dbuy", {}, want=1)
    events = [json.loads(m["data"]) for m in msgs if m.get("event") == "event"]
    # Each message: the table line and the full record (the one event presenter).
    assert [(e["name"], e["record"]["properties"]) for e in events] == [
        ("tapped", {"button": "buy"})
    ]
    assert events[0]["record"]["app"] == "demo" and events[0]["who"] == "live-user"
    assert events[0]["properties"] == '{"button":"buy"}'
    # Resume from an id: exactly the events after it, nothing lost, nothing twice.
    first = int(msgs[0]["id"])
    msgs = _read(live, "viewer", "", {"Last-Event-ID": str(first)}, want=3)
    names = [json.loads(m["data"])["name"] for m in msgs if m.get("event") == "event"]
    assert names == ["tapped", "tapped", "viewed"]
    assert int(msgs[-1]["id"]) == last_event_id(live.engine, app_id)


@pytest.mark.parametrize(
    ("who", "status"), [("signed_out", 401), ("share", 401), ("other_app", 404)]
)
def test_the_stream_is_refused(live: Site, who: str, status: int) -> None:
    r = live.as_(who).get("/apps/demo/live/stream")
    assert r.status_code == status
    assert isinstance(r, httpx.Response) and "event:" not in r.text
