"""Fixtures shared by the tracking-plan and privacy tests: settings whose caches refresh
on every batch and whose violation counts are written before the answer (so tests need
no waiting). Their conftests import it; the root conftest's ``engine`` picks it up."""

from __future__ import annotations

import pytest

from eventkit.config import Settings
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
