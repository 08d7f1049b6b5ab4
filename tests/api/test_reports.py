"""``GET /v1/reports/{name}``: secret key, the key's app only, same numbers as the service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.demo import SimulationConfig, simulate
from eventkit.reports import ReportsService
from eventkit.reports.params import ReportParams, run_report
from eventkit.storage.apps import NewKeys
from eventkit.storage.apps import create_app as create_tracked_app
from eventkit.storage.events import EventStore
from tests.inprocess import api_client, bearer


@dataclass
class Api:
    client: AsyncTestClient  # type: ignore[type-arg]
    a: NewKeys
    b: NewKeys
    service: ReportsService


@pytest.fixture
async def api(settings: Settings, engine: Engine) -> AsyncIterator[Api]:
    a = create_tracked_app(engine, "app-a")
    b = create_tracked_app(engine, "app-b")
    simulate(EventStore(engine), a.app_id, SimulationConfig(users=60, days=10, seed=3))
    async with api_client(settings) as client:
        yield Api(client, a, b, ReportsService(engine, settings))


QUERIES = {
    "trends": "?since=7d&measure=users&by=platform",
    "active": "?since=14d",
    "top": "?kind=screens&limit=3",
    "funnel": "?steps=signup_completed&steps=onboarding_completed&window=2h",
    "retention": "?since=10d&periods=4",
}


@pytest.mark.parametrize("name", sorted(QUERIES))
async def test_each_report_matches_the_service(api: Api, name: str) -> None:
    resp = await api.client.get(
        f"/v1/reports/{name}{QUERIES[name]}", headers=bearer(api.a.secret_key)
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["report"] == name
    assert body["rows"]
    params = {
        "trends": ReportParams(since="7d", measure="users", by="platform"),
        "active": ReportParams(since="14d"),
        "top": ReportParams(kind="screens", limit=3),
        "funnel": ReportParams(steps=["signup_completed", "onboarding_completed"], window="2h"),
        "retention": ReportParams(since="10d", periods=4),
    }[name]
    want = run_report(api.service, name, api.a.app_id, params).to_dict()
    assert body["rows"] == want["rows"]


async def test_only_the_keys_app_and_only_secret_keys(api: Api) -> None:
    resp = await api.client.get("/v1/reports/top", headers=bearer(api.b.secret_key))
    assert resp.status_code == 200
    assert resp.json()["rows"] == []  # app-b has no events; app-a's are invisible
    resp = await api.client.get("/v1/reports/top", headers=bearer(api.a.write_key))
    assert resp.status_code == 403
    resp = await api.client.get("/v1/reports/top")
    assert resp.status_code == 401


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("nope", "unknown report"),
        ("trends?interval=year", "interval"),
        ("trends?where=platform", "key=value"),
        ("trends?since=yesterday", "since"),
        ("funnel?steps=a", "two steps"),
        ("funnel?steps=a&steps=b&window=soon", "span"),
        ("top?kind=cities", "kind"),
    ],
)
async def test_bad_parameters_are_400_with_a_fix(api: Api, query: str, fragment: str) -> None:
    resp = await api.client.get(f"/v1/reports/{query}", headers=bearer(api.a.secret_key))
    assert resp.status_code == 400, resp.text
    assert fragment in resp.json()["message"]
