"""Two apps with data in every relation, to query with the SQL sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.flags.spec import FlagSpec, default_variants
from eventkit.flags.store import create_flag
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from eventkit.storage.users import ProfileOp
from eventkit.tokens import create_token
from tests.conftest import make_settings
from tests.factories import make_event

#: Written only into app "b": no query of app "a" may ever return it.
SECRET = "SECRET-OF-APP-B"


@dataclass
class World:
    engine: Engine
    settings: Settings
    a: int
    b: int
    secrets: list[str]  # key hashes, token hashes, app b's marker


def _fill(engine: Engine) -> tuple[int, int]:
    a = create_app(engine, "a").app_id
    b = create_app(engine, "b").app_id
    create_token(engine, "a", "ci", "query:read")
    create_token(engine, "b", "ci", "admin")
    base = 1_780_000_000_000_000
    events = []
    for i in range(30):
        user = f"u{i % 6}"
        name = "purchase_completed" if i % 3 == 0 else "$screen"
        props = {"amount": i + 0.5, "screen_name": ["home", "cart"][i % 2]}
        events.append(
            make_event(a, name, ts=base + i * 60_000_000, user_id=user, anonymous_id=f"d{i % 6}",
                       country=["US", "DE"][i % 2], properties=props)
        )  # fmt: skip
    for i in range(10):
        events.append(
            make_event(b, "$screen", ts=base + i, user_id="bee", anonymous_id="bdev",
                       properties={"marker": SECRET})
        )  # fmt: skip
    ops = [ProfileOp(app_id=a, user_id="u1", event_id=events[1].event_id, at=base,
                     anonymous_id="d1", set={"plan": "pro"}),
           ProfileOp(app_id=b, user_id="bee", event_id=events[-1].event_id, at=base,
                     anonymous_id="bdev", set={"plan": SECRET})]  # fmt: skip
    EventStore(engine).write(events, ops)
    for app_id, key in ((a, "checkout"), (b, "secret-flag")):
        spec = FlagSpec(key=key, enabled=True, variants=default_variants("boolean"),
                        default_variant="on")  # fmt: skip
        create_flag(engine, app_id, spec, actor="test")
    return a, b


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    settings = make_settings(
        database_url,
        SQL__TIMEOUT_SECONDS="1",
        SQL__MIRROR_DIRECTORY=str(tmp_path / "mirror"),
        AGGREGATION__SETTLE_SECONDS="0",
    )
    from eventkit.storage.engine import make_engine
    from eventkit.storage.migrate import upgrade

    engine = make_engine(settings)
    upgrade(engine)
    a, b = _fill(engine)
    with engine.connect() as conn:
        secrets = [str(h) for h in conn.execute(text("SELECT key_hash FROM api_keys")).scalars()]
        secrets += [
            str(h) for h in conn.execute(text("SELECT token_hash FROM api_tokens")).scalars()
        ]
    yield World(engine, settings, a, b, [*secrets, SECRET, "secret-flag"])
    engine.dispose()
