"""Scrubbing rules and the client-IP policy, per app, as the pipeline applies them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.errors import InvalidRequestError
from eventkit.ingest.pipeline import Batch, Pipeline
from eventkit.privacy.policy import set_privacy_settings
from eventkit.privacy.scrub import Scrubber, parse_rule
from eventkit.storage.apps import create_app
from eventkit.storage.engine import writer
from eventkit.storage.types import json_loads
from eventkit.storage.users import get_profile
from tests.factories import make_event
from tests.inprocess import api_client, bearer

RULES = [parse_rule("*email*=hash"), parse_rule("Phone=drop"), parse_rule("card_??=drop")]


def test_scrubber_drops_and_hashes_at_any_depth() -> None:
    s = Scrubber(RULES, "secret")
    props = {
        "Email": "a@b.c",
        "phone": "+49 1",
        "card_no": "4111",
        "card_number": "kept: two characters only",
        "nested": {"work_email": "x@y.z", "list": [{"PHONE": 1}, 2]},
        "plan": "pro",
    }
    out = s.apply(7, props)
    assert out is not None
    assert out["Email"].startswith("sha256:") and len(out["Email"]) == 7 + 32
    assert out["Email"] == s.hash_value(7, "a@b.c")
    assert s.hash_value(8, "a@b.c") != out["Email"]  # the app id is part of the key
    assert Scrubber(RULES, "other").hash_value(7, "a@b.c") != out["Email"]
    assert "phone" not in out and "card_no" not in out
    assert out["card_number"] == props["card_number"]
    assert out["nested"] == {"work_email": s.hash_value(7, "x@y.z"), "list": [{}, 2]}
    assert out["plan"] == "pro"
    assert props["phone"] == "+49 1"  # the input is not modified
    assert s.apply(7, {"plan": "pro"}) is None


def test_raw_json_without_candidate_keys_is_not_decoded() -> None:
    s = Scrubber(RULES, "k")
    assert not s.might_match(b'{"plan":"pro","n":1}')
    assert s.might_match(b'{"E\\u006dail":"a@b.c"}')  # escapes: decode to be sure
    assert s.apply(1, msgspec.Raw(b'{"plan":"pro"}')) is None
    assert s.apply(1, msgspec.Raw(b'{"E\\u006dail":"a@b.c"}')) == {
        "Email": s.hash_value(1, "a@b.c")
    }


@pytest.mark.parametrize("rule", ["email", "email=mask", "=drop"])
def test_bad_rules(rule: str) -> None:
    with pytest.raises(InvalidRequestError, match="PATTERN=drop or PATTERN=hash"):
        parse_rule(rule)


def _doc(value: Any) -> Any:
    return json_loads(value) if isinstance(value, str) else value


def _settings(engine: Engine, app_id: int, **kw: Any) -> None:
    with writer(engine).begin() as conn:
        set_privacy_settings(conn, app_id, **kw)


async def test_ip_policy_per_app(settings: Settings, engine: Engine) -> None:
    apps = {p: create_app(engine, f"ip-{p}").app_id for p in ("default", "drop", "keep")}
    _settings(engine, apps["drop"], ip="drop")
    _settings(engine, apps["keep"], ip="keep")
    pipeline = Pipeline(settings, engine)
    got = {}
    for policy, app_id in apps.items():
        events = [make_event(app_id, ip="203.0.113.77"), make_event(app_id, ip="2001:db8:1:2::9")]
        batch = Batch(app_id, "native", events, [0, 1], [])
        got[policy] = [e.ip for e in (await pipeline.run(batch)).events]
    assert got == {
        "default": ["203.0.113.0", "2001:db8:1::"],
        "drop": [None, None],
        "keep": ["203.0.113.77", "2001:db8:1:2::9"],
    }


async def test_scrubbing_over_http_covers_properties_context_and_traits(
    settings: Settings, engine: Engine
) -> None:
    cfg = settings.model_copy(
        update={"privacy": settings.privacy.model_copy(update={"scrub": ["ssn=drop"]})}
    )
    keys = create_app(engine, "scrubbed")
    plain = create_app(engine, "plain")
    _settings(engine, keys.app_id, scrub=["*email*=hash", "phone=drop"])
    now = datetime.now(UTC).isoformat()
    event = {
        "event_id": str(uuid.uuid4()), "name": "signup", "timestamp": now,
        "anonymous_id": "d1", "properties": {"email": "a@b.c", "phone": "1", "ssn": "x", "ok": 1},
        "context": {"traits": {"email": "a@b.c"}},
    }  # fmt: skip
    async with api_client(cfg) as client:
        for k in (keys, plain):
            batch = {"sent_at": now, "events": [{**event, "event_id": str(uuid.uuid4())}]}
            r = await client.post("/v1/events", json=batch, headers=bearer(k.write_key))
            assert r.json()["accepted"] == 1, r.text
        ident = {
            "user_id": "u1",
            "set": {"email": "a@b.c", "name": "A"},
            "set_once": {"phone": "1"},
        }
        r = await client.post("/v1/identify", json=ident, headers=bearer(keys.write_key))
        assert r.status_code == 200, r.text
    with engine.connect() as conn:
        rows = {
            a: (_doc(p), _doc(c))
            for a, p, c in conn.execute(
                text("SELECT app_id, properties, context FROM events WHERE name = 'signup'")
            )
        }
    props, ctx = rows[keys.app_id]
    assert set(props) == {"email", "ok"} and props["email"].startswith("sha256:")
    assert ctx == {"traits": {"email": props["email"]}}
    assert rows[plain.app_id][0] == {"email": "a@b.c", "phone": "1", "ok": 1}  # only ssn
    profile = get_profile(engine, keys.app_id, "u1")
    assert profile is not None
    assert profile["traits"] == {"email": props["email"], "name": "A"}


async def test_vendor_identify_traits_are_scrubbed_before_the_profile(
    settings: Settings, engine: Engine
) -> None:
    """A Segment identify's traits become profile traits only after the app's rules."""
    keys = create_app(engine, "vendor")
    _settings(engine, keys.app_id, scrub=["*email*=hash", "phone=drop"])
    message = {
        "type": "identify",
        "userId": "u9",
        "anonymousId": "d9",
        "messageId": str(uuid.uuid4()),
        "traits": {"email": "a@b.c", "phone": "1", "plan": "pro"},
    }
    async with api_client(settings) as client:
        r = await client.post(
            "/segment/v1/batch", json={"batch": [message]}, headers=bearer(keys.write_key)
        )
        assert r.status_code == 200, r.text
    profile = get_profile(engine, keys.app_id, "u9")
    assert profile is not None
    traits = profile["traits"]
    assert set(traits) == {"email", "plan"} and traits["plan"] == "pro"
    assert traits["email"].startswith("sha256:")
