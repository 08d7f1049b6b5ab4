"""Flag exposures enter eventkit like every other event: through the ingest service's
pipeline (tombstones, scrubbing, sinks, metrics), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.flags.exposure import EXPOSURE_EVENT
from eventkit.flags.spec import FlagSpec, Rule, default_variants
from eventkit.flags.store import create_flag
from eventkit.ingest.runtime import Runtime
from eventkit.privacy.erasure import delete_user
from eventkit.privacy.policy import set_privacy_settings
from eventkit.storage.apps import NewKeys
from eventkit.storage.apps import create_app as create_tracked_app
from eventkit.storage.engine import writer
from eventkit.storage.events import EventFilter, query_events
from tests.inprocess import api_client, bearer
from tests.instant_policies import settings
from tests.plugins.conftest import Use, use_plugins
from tests.plugins.fixtures import sink
from tests.plugins.helpers import metric

__all__ = ["settings", "use_plugins"]


@dataclass
class Flags:
    client: AsyncTestClient  # type: ignore[type-arg]
    keys: NewKeys
    engine: Engine

    async def evaluate(self, user_id: str) -> None:
        r = await self.client.post(
            "/v1/flags/evaluate", json={"user_id": user_id}, headers=bearer(self.keys.write_key)
        )
        assert r.status_code == 200, r.text
        assert r.json()["flags"]["new-ui"]["variant"] == "on"

    async def settle(self) -> None:
        """Wait until the exposures handed to the ingest service are stored."""
        runtime: Runtime = self.client.app.state.runtime  # type: ignore[attr-defined]
        # The app runs on the test client's portal loop, where the exposure tasks live.
        await asyncio.to_thread(self.client.blocking_portal.call, runtime.flags.drain)

    def exposures(self, user_id: str | None = None) -> list[Any]:
        flt = EventFilter(app_id=self.keys.app_id, name=EXPOSURE_EVENT, user_id=user_id)
        return query_events(self.engine, flt)


@pytest.fixture(autouse=True)
def _reset_sink() -> Iterator[None]:
    sink.reset()
    yield
    sink.reset()


@asynccontextmanager
async def serving(settings: Settings, engine: Engine) -> AsyncIterator[Flags]:
    """An app with one flag served to everyone, and the API in-process."""
    keys = create_tracked_app(engine, "exposed")
    spec = FlagSpec(
        key="new-ui", enabled=True, variants=default_variants("boolean"), rules=[Rule()]
    )
    create_flag(engine, keys.app_id, spec, actor="t")
    async with api_client(settings) as client:
        yield Flags(client, keys, engine)


@pytest.fixture
async def flags(settings: Settings, engine: Engine) -> AsyncIterator[Flags]:
    async with serving(settings, engine) as flags:
        yield flags


async def test_an_erased_users_evaluation_stores_nothing_about_them(
    flags: Flags, settings: Settings
) -> None:
    await asyncio.to_thread(
        delete_user, flags.engine, settings, flags.keys.app_id, "gone", actor="t"
    )
    await flags.evaluate("gone")
    await flags.evaluate("kept")  # the control: exposures are recorded
    await flags.settle()
    assert [e.user_id for e in flags.exposures()] == ["kept"]
    assert flags.exposures("gone") == []


async def test_a_scrubbed_property_never_reaches_storage_from_an_exposure(
    flags: Flags,
) -> None:
    with writer(flags.engine).begin() as conn:
        set_privacy_settings(conn, flags.keys.app_id, scrub=["$feature_flag_reason=drop"])
    await flags.evaluate("u1")
    await flags.settle()
    (exposure,) = flags.exposures("u1")
    assert exposure.properties == {"$feature_flag": "new-ui", "$feature_flag_variant": "on"}


async def test_a_sink_sees_exposures_and_the_metrics_count_them(
    settings: Settings, engine: Engine, use_plugins: Use
) -> None:
    use_plugins(sink)  # before the app is built: it collects its sinks then
    async with serving(settings, engine) as flags:
        await flags.evaluate("u2")
        await flags.settle()
        runtime: Runtime = flags.client.app.state.runtime  # type: ignore[attr-defined]
        assert runtime.capture.sinks is not None
        runtime.capture.sinks.flush()
        text = (await flags.client.get("/metrics")).text
    assert [[(e.name, e.user_id) for e in b] for b in sink.received] == [[(EXPOSURE_EVENT, "u2")]]
    assert metric(text, "eventkit_events_accepted_total", source="flags") == 1
