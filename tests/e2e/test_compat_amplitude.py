"""Amplitude end to end: the real amplitude-analytics client against ``eventkit serve``
(HTTP V2 and Batch endpoints), including its handling of a 400 with bad indices."""

from __future__ import annotations

import time
from typing import Any

import pytest
from amplitude import Amplitude, BaseEvent, Config, EventOptions, Identify
from sqlalchemy.engine import Engine

from eventkit.storage.apps import resolve_key
from eventkit.storage.users import get_profile
from tests.e2e.conftest import ServerProcess, stored

pytestmark = pytest.mark.e2e


def _client(server: ServerProcess, results: list[tuple[str, int, Any]], batch: bool) -> Amplitude:
    assert server.write_key
    path = "/amplitude/batch" if batch else "/amplitude/2/httpapi"
    config = Config(
        server_url=f"{server.url}{path}",
        use_batch=batch,
        flush_queue_size=50,
        flush_interval_millis=100,
        callback=lambda ev, code, msg: results.append((ev.event_type, code, msg)),
    )
    return Amplitude(server.write_key, config)


@pytest.mark.parametrize("batch", [False, True])
def test_amplitude_client_events_identify_groups(
    server: ServerProcess, db: Engine, batch: bool
) -> None:
    results: list[tuple[str, int, Any]] = []
    amp = _client(server, results, batch)
    user, device = f"amp-user-{batch}", f"amp-device-{batch}"
    amp.track(
        BaseEvent(
            "Song Played",
            user_id=user,
            device_id=device,
            session_id=1_700_000_000_123,
            event_properties={"genre": "jazz"},
            platform="iOS",
            os_name="ios",
            app_version="4.2.0",
        )
    )
    ident = Identify().set("plan", "pro").set_once("source", "ad")
    amp.identify(ident, EventOptions(user_id=user, device_id=device))
    amp.group_identify(
        "company", f"amp-acme-{batch}", Identify().set("seats", 9), EventOptions(user_id=user)
    )
    amp.set_group("company", f"amp-acme-{batch}", EventOptions(user_id=user))
    amp.flush()
    amp.shutdown()
    assert results and all(code == 200 for _, code, _ in results), results
    rows = {e.name: e for e in stored(db, user_id=user)}
    assert {"Song Played", "$identify", "$groupidentify"} <= set(rows)
    song = rows["Song Played"]
    assert (song.session_id, song.platform, song.app_version, song.anonymous_id) == (
        "1700000000123",
        "ios",
        "4.2.0",
        device,
    )
    assert song.properties["genre"] == "jazz"
    assert server.write_key
    key = resolve_key(db, server.write_key)
    assert key is not None
    profile = get_profile(db, key.app_id, user)
    # set_group is an identify that sets the group as a user property, as in Amplitude.
    expected = {"plan": "pro", "source": "ad", "company": f"amp-acme-{batch}"}
    assert profile is not None and profile["traits"] == expected


def test_amplitude_client_drops_only_the_invalid_event(server: ServerProcess, db: Engine) -> None:
    """One event's id is too short: eventkit refuses the batch with its index, the SDK
    drops that event and resends the others (Amplitude's documented contract)."""
    results: list[tuple[str, int, Any]] = []
    amp = _client(server, results, batch=False)
    amp.track(BaseEvent("amp_good_1", user_id="amp-good-user"))
    amp.track(BaseEvent("amp_bad", user_id="abc"))
    amp.track(BaseEvent("amp_good_2", user_id="amp-good-user"))
    amp.flush()
    deadline = time.monotonic() + 30  # the SDK resends the valid events on its next cycle
    while len(results) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    amp.shutdown()
    codes = {name: code for name, code, _ in results}
    assert codes == {"amp_good_1": 200, "amp_bad": 400, "amp_good_2": 200}, results
    assert sorted(e.name for e in stored(db, user_id="amp-good-user")) == [
        "amp_good_1",
        "amp_good_2",
    ]
    assert stored(db, user_id="abc") == []
