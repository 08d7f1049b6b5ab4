"""eventkit.client against a real ``eventkit serve``: batching, identify, the on-disk
outbox across an outage and a restart, Retry-After, flags with a cached ETag."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from eventkit.client import Backoff, Client
from eventkit.flags.spec import FlagSpec, Variant
from eventkit.flags.store import create_flag
from eventkit.storage.apps import resolve_key
from eventkit.storage.users import get_profile
from tests.client.scripted import scripted_server
from tests.e2e.conftest import ServerProcess, free_port, stored

pytestmark = pytest.mark.e2e


def test_batches_and_identify_reach_the_server(
    server: ServerProcess, db: Engine, tmp_path: Path
) -> None:
    assert server.write_key
    with Client(
        server.url,
        server.write_key,
        queue_path=tmp_path / "q.db",
        batch_size=100,
        flush_interval=0.05,
    ) as ek:
        for i in range(250):
            ek.track("client_batch", anonymous_id="client-dev-1", properties={"i": i})
        ek.identify("client-user-1", anonymous_id="client-dev-1", set={"plan": "pro"})
        assert ek.flush(30)
        assert ek.stats.sent == 251 and ek.stats.rejected == 0
    rows = stored(db, name="client_batch")
    assert sorted(r.properties["i"] for r in rows) == list(range(250))
    assert all(r.sent_at is not None for r in rows)
    key = resolve_key(db, server.write_key)
    assert key is not None
    profile = get_profile(db, key.app_id, "client-user-1")
    assert profile is not None and profile["traits"] == {"plan": "pro"}


def test_outbox_survives_an_outage_and_a_restart(
    server: ServerProcess, db: Engine, tmp_path: Path
) -> None:
    assert server.write_key
    queue = tmp_path / "outbox.db"
    down = f"http://127.0.0.1:{free_port()}"
    offline = Client(
        down,
        server.write_key,
        queue_path=queue,
        max_queue=3,
        backoff=Backoff(base=0.05, maximum=0.1),
    )
    for i in range(5):
        offline.track("offline_event", anonymous_id="client-dev-2", properties={"i": i})
    assert offline.flush(timeout=0.3) is False
    assert offline.shutdown(timeout=0) is False
    # The app restarts, now online: the queued events (newest 3) are delivered.
    online = Client(server.url, server.write_key, queue_path=queue, max_queue=3)
    assert online.dropped == 2
    assert online.flush(30)
    online.shutdown()
    assert sorted(r.properties["i"] for r in stored(db, name="offline_event")) == [2, 3, 4]


def test_retry_after_is_obeyed_and_nothing_is_lost(tmp_path: Path) -> None:
    ok = {"accepted": 2, "duplicates": 0, "rejected": []}
    with scripted_server([(503, {"Retry-After": "0"}, {"message": "busy"}), (200, {}, ok)]) as srv:
        with Client(srv.url, "ek_write_x", queue_path=tmp_path / "q.db", flush_interval=0.05) as ek:
            ek.track("a", anonymous_id="d1")
            ek.track("b", anonymous_id="d1")
            assert ek.flush(10)
            assert ek.stats.sent == 2
        assert len(srv.requests) == 2
        assert srv.requests[0][2] != b"" and srv.requests[0][0] == "/v1/events"


def test_flags_use_the_cached_etag(server: ServerProcess, db: Engine) -> None:
    assert server.write_key
    key = resolve_key(db, server.write_key)
    assert key is not None
    create_flag(
        db,
        key.app_id,
        FlagSpec(
            key="client-color",
            type="string",
            enabled=True,
            variants=[Variant("blue", "blue", 1)],
            default_variant="blue",
            off_variant="blue",
        ),
        actor="test",
    )
    with Client(server.url, server.write_key, start=False) as ek:
        first = ek.flags.evaluate(user_id="client-user-9")
        second = ek.flags.evaluate(user_id="client-user-9")
        assert first == second
        assert first["client-color"]["value"] == "blue"
        assert ek.flags.not_modified == 1
        assert ek.flags.value("client-color", "red", user_id="client-user-9") == "blue"
        assert ek.flags.value("missing", "red", user_id="client-user-9") == "red"


def test_a_refused_key_keeps_the_events_queued(server: ServerProcess, tmp_path: Path) -> None:
    queue = tmp_path / "q.db"
    ek = Client(server.url, "ek_write_not-a-real-key", queue_path=queue)
    ek.track("kept", anonymous_id="client-dev-3")
    assert ek.flush(timeout=1) is False
    assert ek.stats.last_error is not None and "401" in ek.stats.last_error
    assert ek.shutdown(timeout=0) is False
    assert server.write_key
    with Client(server.url, server.write_key, queue_path=queue) as fixed:
        assert fixed.flush(30)
        assert fixed.stats.sent == 1
