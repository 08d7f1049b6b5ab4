"""The API in-process for route tests (tests/e2e drives a real server instead)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar.testing import AsyncTestClient

from eventkit.api.app import create_app
from eventkit.config import Settings

__all__ = ["api_client", "bearer"]


@asynccontextmanager
async def api_client(settings: Settings) -> AsyncIterator[AsyncTestClient]:  # type: ignore[type-arg]
    """A client on the app for ``settings``, without its scheduler (tests run jobs)."""
    off = settings.model_copy(
        update={"scheduler": settings.scheduler.model_copy(update={"enabled": False})}
    )
    async with AsyncTestClient(app=create_app(off)) as client:
        yield client


def bearer(key: str | None) -> dict[str, str]:
    """An ``Authorization: Bearer`` header."""
    return {"Authorization": f"Bearer {key}"}
