"""In-process API with one app for the compat route tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.storage.apps import NewKeys
from eventkit.storage.apps import create_app as create_tracked_app
from tests.inprocess import api_client


@dataclass
class Api:
    client: AsyncTestClient  # type: ignore[type-arg]
    keys: NewKeys
    engine: Engine


@pytest.fixture
async def api(settings: Settings, engine: Engine) -> AsyncIterator[Api]:
    keys = create_tracked_app(engine, "compat-app")
    async with api_client(settings) as client:
        yield Api(client, keys, engine)


def basic(key: str) -> dict[str, str]:
    """HTTP Basic auth with ``key`` as the username (Segment, Mixpanel /import)."""
    import base64

    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def iso(offset_seconds: float = 0.0) -> str:
    """Now (plus ``offset_seconds``) as RFC 3339."""
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(seconds=offset_seconds)).isoformat()
