"""The bundled webhook plugin against a real local HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

import eventkit_webhook
from eventkit.config import Settings
from eventkit.errors import ConfigError
from eventkit.privacy.erasure import delete_user
from eventkit.storage.apps import create_app as create_tracked_app
from eventkit.storage.events import EventStore
from eventkit.storage.users import ProfileOp
from eventkit_webhook.delivery import Webhook, WebhookOptions, list_deadletters, options_of, replay
from tests.conftest import make_settings
from tests.factories import make_event
from tests.inprocess import api_client, bearer
from tests.plugins.conftest import Use
from tests.plugins.helpers import batch
from tests.plugins.receiver import Receiver, receiver

SECRET = "s3cret"


@pytest.fixture
def rx() -> Iterator[Receiver]:
    with receiver() as r:
        yield r


def verify(headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does: recompute the HMAC over timestamp.body."""
    mac = hmac.new(SECRET.encode(), headers["x-eventkit-timestamp"].encode() + b"." + body,
                   hashlib.sha256).hexdigest()  # fmt: skip
    return hmac.compare_digest(headers["x-eventkit-signature"], f"sha256={mac}")


def hook(url: str, engine: Engine | None, sleeps: list[float], **kw: object) -> Webhook:
    opts = WebhookOptions.model_validate({"url": url, "secret": SECRET, **kw})
    return Webhook(opts, engine, sleep=sleeps.append)


def test_batches_are_signed_and_split(rx: Receiver) -> None:
    events = [make_event(1, f"e{i}") for i in range(250)]
    sleeps: list[float] = []
    outcomes = hook(rx.url, None, sleeps, batch_size=100).send(events)
    assert [o.ok for o in outcomes] == [True] * 3 and sleeps == []
    assert [len(b["events"]) for b in rx.bodies()] == [100, 100, 50]
    sent = [e["event_id"] for b in rx.bodies() for e in b["events"]]
    assert sent == [str(e.event_id) for e in events]
    first = rx.bodies()[0]["events"][0]
    assert first["name"] == "e0" and first["properties"] == events[0].properties
    for headers, body in rx.requests:
        assert headers["content-type"] == "application/json"
        assert verify(headers, body)
    tampered = rx.requests[0][1].replace(b"e0", b"e9")
    assert not verify(rx.requests[0][0], tampered)


def test_retries_with_exponential_backoff(rx: Receiver, engine: Engine) -> None:
    rx.statuses = [503, 500, 429]
    sleeps: list[float] = []
    [outcome] = hook(rx.url, engine, sleeps, backoff_seconds=0.5).send([make_event(1)])
    assert (outcome.ok, outcome.attempts) == (True, 4)
    assert sleeps == [0.5, 1.0, 2.0]
    assert len(rx.requests) == 4 and len({b for _, b in rx.requests}) == 1
    assert list_deadletters(engine) == []


def test_dead_letter_and_replay(rx: Receiver, engine: Engine) -> None:
    rx.statuses = [500, 500, 500, 400]
    sleeps: list[float] = []
    wh = hook(rx.url, engine, sleeps, max_attempts=3, backoff_seconds=1)
    first, second = make_event(1, "a"), make_event(1, "b")
    assert not wh.send([first])[0].ok
    assert not wh.send([second])[0].ok  # 400: not retried
    assert sleeps == [1, 2]
    dead = list_deadletters(engine)
    assert [(d.event_count, d.attempts) for d in dead] == [(1, 3), (1, 1)]
    assert dead[0].last_error.startswith("HTTP 500") and dead[1].last_error.startswith("HTTP 400")
    assert json.loads(dead[0].payload)["events"][0]["event_id"] == str(first.event_id)
    # Replay: the first fails again (and stays), the second is delivered (and leaves).
    rx.statuses = [503]
    results = replay(engine, wh, attempts=1)
    assert [o.ok for _, o in results] == [False, True]
    [left] = list_deadletters(engine)
    assert (left.id, left.attempts) == (dead[0].id, 4)
    assert replay(engine, wh)[0][1].ok and list_deadletters(engine) == []
    delivered = [json.loads(b)["events"][0]["name"] for h, b in rx.requests[-2:]]
    assert delivered == ["b", "a"] and all(verify(h, b) for h, b in rx.requests)


def test_unreachable_receiver_is_dead_lettered(engine: Engine) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens
    sleeps: list[float] = []
    wh = hook(f"http://127.0.0.1:{port}/x", engine, sleeps, max_attempts=2, timeout_seconds=2)
    [outcome] = wh.send([make_event(1)])
    assert not outcome.ok and "ConnectError" in outcome.error
    assert [d.attempts for d in list_deadletters(engine)] == [2]


def test_options_are_validated(tmp_path: object) -> None:
    s = make_settings("sqlite:///x.db")
    with pytest.raises(ConfigError, match=r"\[plugins.webhook\].*url"):
        options_of(s)
    s = make_settings(
        "sqlite:///x.db", PLUGINS__WEBHOOK__URL="http://h", PLUGINS__WEBHOOK__BATCH_SIZE="0"
    )
    with pytest.raises(ConfigError, match="batch_size"):
        options_of(s)


async def test_capture_forwards_new_events(
    database_url: str, engine: Engine, rx: Receiver, use_plugins: Use
) -> None:
    use_plugins(eventkit_webhook)
    settings: Settings = make_settings(
        database_url, PLUGINS__WEBHOOK__URL=rx.url, PLUGINS__WEBHOOK__SECRET=SECRET
    )
    keys = create_tracked_app(engine, "hooked")
    body = batch("a", "b")
    async with api_client(settings) as client:
        await client.post("/v1/events", json=body, headers=bearer(keys.write_key))
        await client.post("/v1/events", json=body, headers=bearer(keys.write_key))  # retry
        await client.post("/v1/events", json=batch("c"), headers=bearer(keys.write_key))
    # Shutdown drained the sink: each stored event was forwarded exactly once.
    names = [e["name"] for b in rx.bodies() for e in b["events"]]
    assert names == ["a", "b", "c"]
    assert all(verify(h, b) for h, b in rx.requests)
    assert rx.bodies()[0]["events"][0]["ip"] in (None, "testclient")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_deadletter_cli(database_url: str, engine: Engine, rx: Receiver) -> None:
    import typer

    from eventkit.cli.app import root

    rx.statuses = [500]
    hook(rx.url, engine, [], max_attempts=1).send([make_event(1, "late")])
    app = typer.Typer()
    app.callback()(root)
    eventkit_webhook.eventkit_cli_commands(app)
    env = {
        "EVENTKIT_DATABASE_URL": database_url,
        "EVENTKIT_PLUGINS__WEBHOOK__URL": rx.url,
        "EVENTKIT_PLUGINS__WEBHOOK__SECRET": SECRET,
    }
    runner = CliRunner()
    listed = runner.invoke(app, ["webhook", "deadletter", "list", "-f", "json"], env=env)
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    assert (row["events"], row["attempts"], row["url"]) == (1, 1, rx.url)
    replayed = runner.invoke(app, ["webhook", "deadletter", "replay", str(row["id"])], env=env)
    assert replayed.exit_code == 0, replayed.output
    assert "1 delivered, 0 still failing" in replayed.output
    assert list_deadletters(engine) == []
    assert rx.bodies()[-1]["events"][0]["name"] == "late"
    empty = runner.invoke(app, ["webhook", "deadletter", "list"], env=env)
    assert "no dead letters" in empty.output


def test_user_erasure_reaches_dead_letters(
    settings: Settings, engine: Engine, rx: Receiver, use_plugins: Use
) -> None:
    use_plugins(eventkit_webhook)
    keys = create_tracked_app(engine, "erased")
    other = create_tracked_app(engine, "other")
    rx.statuses = [400, 400]
    wh = hook(rx.url, engine, [], max_attempts=1)
    alice = [make_event(keys.app_id, "a", user_id="alice") for _ in range(2)]
    alice_device = make_event(keys.app_id, "b", user_id=None, anonymous_id="alice-phone")
    bob = make_event(keys.app_id, "c", user_id="bob")
    namesake = make_event(other.app_id, "d", user_id="alice")  # another app's alice
    # Alice's device is linked to her, so its anonymous events are hers too.
    ident = make_event(keys.app_id, "$identify", user_id="alice", anonymous_id="alice-phone")
    op = ProfileOp(
        app_id=keys.app_id,
        user_id="alice",
        event_id=ident.event_id,
        at=ident.ts,
        anonymous_id="alice-phone",
    )
    EventStore(engine).write([ident], [op])
    wh.send([*alice, alice_device, bob, namesake])  # one mixed batch
    wh.send(alice)  # a batch of hers only
    assert [d.event_count for d in list_deadletters(engine)] == [5, 2]

    result = delete_user(engine, settings, keys.app_id, "alice", actor="t", wait_seconds=0)

    assert result.deleted["webhook_deadletters"] == 5
    [left] = list_deadletters(engine)
    assert left.event_count == 2
    kept = json.loads(left.payload)["events"]
    assert [(e["name"], e["user_id"]) for e in kept] == [("c", "bob"), ("d", "alice")]
    assert "alice-phone" not in left.payload
