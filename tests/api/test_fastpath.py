"""``POST /v1/events`` in front of Litestar (what ``eventkit serve`` runs) answers every
kind of request exactly as the Litestar route does: the same requests go to an app with
and to an app without the fast path, each on its own fresh database, and the answers
must be identical (status, JSON body, content type, Retry-After)."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

from eventkit.api.app import create_app
from eventkit.api.fastpath import with_capture_fast_path
from eventkit.config import Settings
from eventkit.storage.apps import create_app as create_tracked_app
from eventkit.storage.engine import make_engine
from eventkit.storage.migrate import upgrade
from eventkit.tokens.store import create_token
from tests.conftest import make_settings

NOW = datetime.now(UTC).isoformat()
EVENT_IDS = [str(uuid.uuid4()) for _ in range(10)]


def event(i: int, **fields: Any) -> dict[str, Any]:
    ev = {"event_id": EVENT_IDS[i], "name": "tap", "timestamp": NOW, "anonymous_id": "d"}
    ev.update(fields)
    return ev


def settings_for(directory: Path) -> Settings:
    directory.mkdir()
    return make_settings(
        f"sqlite:///{directory / 'ek.db'}",
        SCHEDULER__ENABLED="false",
        SERVER__MAX_REQUEST_BYTES="4096",
        LIMITS__MAX_BATCH_EVENTS="5",
        RATE_LIMITS__EVENTS_PER_SECOND="0.01",
        RATE_LIMITS__BURST_EVENTS="12",
        RATE_LIMITS__AUTH_FAILURES_PER_MINUTE="6",
        RATE_LIMITS__AUTH_FAILURE_BURST="3",
    )


@asynccontextmanager
async def client(
    directory: Path, fast: bool
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    settings = settings_for(directory)
    engine = make_engine(settings)
    upgrade(engine)
    keys = create_tracked_app(engine, "a")
    reader = create_token(engine, "a", "reader", "reports:read,query:read").token
    admin = create_token(engine, "a", "admin", "admin").token
    engine.dispose()
    app = create_app(settings)
    asgi = with_capture_fast_path(app) if fast else app
    assert (asgi is not app) == fast  # no CORS configured: the fast path is in front
    async with AsyncTestClient(app=asgi) as c:  # type: ignore[type-var]
        yield (
            c,
            {
                "write": keys.write_key,
                "secret": keys.secret_key,
                "reader": reader,
                "admin": admin,
            },
        )


Step = Callable[[dict[str, str]], tuple[dict[str, str], bytes]]


def post_json(body: Any, key: str | None = "write", **headers: str) -> Step:
    def step(keys: dict[str, str]) -> tuple[dict[str, str], bytes]:
        h = {"Content-Type": "application/json", **headers}
        if key is not None:
            h["Authorization"] = f"Bearer {keys.get(key, key)}"
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return h, raw

    return step


STEPS: list[tuple[str, Step]] = [
    ("a valid batch", post_json({"events": [event(0), event(1)]})),
    ("the same batch again: duplicates", post_json({"events": [event(0), event(1)]})),
    ("one invalid event among valid ones", post_json({"events": [event(2), {"name": "x"}]})),
    ("every event invalid: 400", post_json({"events": [{"name": ""}]})),
    ("not JSON", post_json(b"{nope")),
    ("no events", post_json({"events": []})),
    ("too many events", post_json({"events": [event(3)] * 6})),
    ("a secret key may capture", post_json({"events": [event(3)]}, key="secret")),
    ("a token without the capture scope: 403",
     post_json({"events": [event(3)]}, key="reader")),
    ("an admin token may capture", post_json({"events": [event(4)]}, key="admin")),
    ("X-Eventkit-Key", post_json({"events": [event(4)]}, key=None, **{"X-Eventkit-Key": "_"})),
    ("gzip", lambda k: ({"Authorization": f"Bearer {k['write']}", "Content-Encoding": "gzip"},
                        gzip.compress(json.dumps({"events": [event(5)]}).encode()))),
    ("an unknown encoding", post_json({"events": [event(5)]}, **{"Content-Encoding": "br"})),
    ("too large", post_json({"events": [event(5, properties={"x": "y" * 5000})]})),
    ("the rest of the app's burst", post_json({"events": [event(6), event(7), event(8)]})),
    ("over the app's event rate: 429", post_json({"events": [event(9)]})),
    ("no key", post_json({"events": [event(5)]}, key=None)),
    ("an unknown key", post_json({"events": [event(5)]}, key="ek_write_nope")),
    ("another unknown key", post_json({"events": [event(5)]}, key="ek_write_nope")),
    ("too many failed keys: 429", post_json({"events": [event(5)]}, key="ek_write_nope")),
]  # fmt: skip


async def run(directory: Path, fast: bool) -> list[tuple[int, Any, str, str | None]]:
    out = []
    async with client(directory, fast) as (c, keys):
        for _name, step in STEPS:
            headers, body = step(keys)
            if headers.get("X-Eventkit-Key") == "_":
                headers["X-Eventkit-Key"] = keys["write"]
            r = await c.post("/v1/events", content=body, headers=headers)
            out.append(
                (r.status_code, r.json(), r.headers["content-type"], r.headers.get("retry-after"))
            )
        metrics = (await c.get("/metrics")).text
    counted = sorted(
        line
        for line in metrics.splitlines()
        if line.startswith("eventkit_http_requests_total") and "/v1/events" in line
    )
    assert counted, metrics
    out.append((0, counted, "", None))
    return out


async def test_the_fast_path_answers_as_litestar_does(tmp_path: Path) -> None:
    litestar = await run(tmp_path / "litestar", fast=False)
    fast = await run(tmp_path / "fast", fast=True)
    for (name, _), want, got in zip(STEPS, litestar, fast, strict=False):
        assert got == want, name
    assert fast[-1] == litestar[-1]  # the same request metrics
    statuses = [s for s, *_ in litestar[:-1]]
    assert statuses == [200, 200, 200, 400, 400, 400, 413, 200, 403, 200, 200, 200, 400, 413, 200,
                        429, 401, 401, 401, 429]  # fmt: skip
