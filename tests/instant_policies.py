"""Fixtures shared by the tracking-plan and privacy tests: settings whose caches refresh
on every batch and whose violation counts are written before the answer (so tests need
no waiting), and a migrated engine. Their conftests import them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.storage.engine import make_engine
from eventkit.storage.migrate import upgrade
from tests.conftest import make_settings


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url,
        TRACKING__REFRESH_SECONDS="0",
        TRACKING__FLUSH_SECONDS="0",
        PRIVACY__REFRESH_SECONDS="0",
        PRIVACY__PROPAGATION_SECONDS="0",
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings)
    upgrade(eng)
    yield eng
    eng.dispose()
