"""The sessions read API in-process: secret key only, app isolation, filters, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.sessions.job import run_sessions_job
from eventkit.storage.apps import NewKeys
from eventkit.storage.apps import create_app as create_tracked_app
from tests.inprocess import api_client, bearer
from tests.sessions.helpers import MIN, T0, ev, store


@dataclass
class Api:
    client: AsyncTestClient  # type: ignore[type-arg]
    a: NewKeys
    b: NewKeys


@pytest.fixture
async def api(settings: Settings, engine: Engine) -> AsyncIterator[Api]:
    a = create_tracked_app(engine, "app-a")
    b = create_tracked_app(engine, "app-b")
    store(
        engine,
        [
            ev(a.app_id, 0, name="$screen", screen="home"),
            ev(a.app_id, 1, name="$screen", screen="cart"),
            ev(a.app_id, 60, platform="android", device="d2", session="client-1"),
            ev(b.app_id, 0, device="b-dev"),
        ],
    )
    run_sessions_job(engine, settings, now=T0 + 24 * 60 * MIN)
    async with api_client(settings) as client:
        yield Api(client, a, b)


async def test_list_needs_the_secret_key_and_sees_only_its_app(api: Api) -> None:
    r = await api.client.get("/v1/sessions", headers=bearer(api.a.write_key))
    assert r.status_code == 403
    r = await api.client.get("/v1/sessions")
    assert r.status_code == 401
    r = await api.client.get("/v1/sessions", headers=bearer(api.a.secret_key))
    assert r.status_code == 200
    sessions = r.json()["sessions"]
    assert len(sessions) == 2 and {s["app"] for s in sessions} == {"app-a"}
    r = await api.client.get("/v1/sessions", headers=bearer(api.b.secret_key))
    assert [s["anonymous_id"] for s in r.json()["sessions"]] == ["b-dev"]


async def test_list_filters(api: Api) -> None:
    r = await api.client.get(
        "/v1/sessions", params={"platform": "android"}, headers=bearer(api.a.secret_key)
    )
    assert [s["client_session_id"] for s in r.json()["sessions"]] == ["client-1"]
    r = await api.client.get(
        "/v1/sessions", params={"status": "open"}, headers=bearer(api.a.secret_key)
    )
    assert r.json()["sessions"] == []
    r = await api.client.get(
        "/v1/sessions", params={"since": "yesterday"}, headers=bearer(api.a.secret_key)
    )
    assert r.status_code == 400 and "since" in r.json()["message"]


async def test_show_by_id_and_client_id_and_isolation(api: Api) -> None:
    listed = (await api.client.get("/v1/sessions", headers=bearer(api.a.secret_key))).json()
    ios = next(s for s in listed["sessions"] if s["platform"] == "ios")
    r = await api.client.get(f"/v1/sessions/{ios['id']}", headers=bearer(api.a.secret_key))
    body = r.json()
    assert r.status_code == 200
    assert [e["name"] for e in body["events"]] == ["$screen", "$screen"]
    assert (body["entry_screen"], body["exit_screen"], body["duration_s"]) == ("home", "cart", 60)
    r = await api.client.get("/v1/sessions/client-1", headers=bearer(api.a.secret_key))
    assert r.json()["client_session_id"] == "client-1"
    r = await api.client.get(f"/v1/sessions/{ios['id']}", headers=bearer(api.b.secret_key))
    assert r.status_code == 404 and r.json()["error"] == "not_found"


async def test_stats(api: Api) -> None:
    r = await api.client.get(
        "/v1/sessions/stats", params={"by": "platform"}, headers=bearer(api.a.secret_key)
    )
    assert r.status_code == 200
    stats = {row["group"]: row for row in r.json()["stats"]}
    assert set(stats) == {"android", "ios", "all"}
    assert stats["all"]["sessions"] == 2
    assert stats["all"]["bounce_rate"] == 0.5  # the one-event android session
    assert stats["ios"]["median_duration_s"] == 60
