"""Apps and keys: creation, hashing, rotation, resolution."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from eventkit.errors import ConflictError, InvalidRequestError, NotFoundError
from eventkit.storage.apps import create_app, get_app, hash_key, list_apps, resolve_key, rotate_key
from eventkit.storage.models import API_KEYS


def test_create_app_returns_working_keys(engine: Engine) -> None:
    keys = create_app(engine, "ios-app", "the iOS app")
    assert keys.write_key and keys.write_key.startswith("ek_write_")
    assert keys.secret_key and keys.secret_key.startswith("ek_secret_")
    w = resolve_key(engine, keys.write_key)
    s = resolve_key(engine, keys.secret_key)
    assert w is not None and (w.app_name, w.kind) == ("ios-app", "write")
    assert s is not None and (s.app_id, s.kind) == (keys.app_id, "secret")


def test_keys_are_stored_only_as_hashes(engine: Engine) -> None:
    keys = create_app(engine, "a")
    with engine.connect() as conn:
        stored = [tuple(r) for r in conn.execute(select(API_KEYS)).all()]
    flat = " ".join(map(str, stored))
    assert keys.write_key not in flat and keys.secret_key not in flat
    assert hash_key(keys.write_key or "") in flat


def test_unknown_and_malformed_keys_resolve_to_nothing(engine: Engine) -> None:
    keys = create_app(engine, "a")
    assert resolve_key(engine, "ek_write_" + "x" * 32) is None
    assert resolve_key(engine, "hello") is None
    assert resolve_key(engine, (keys.write_key or "")[:-1] + "!") is None


def test_names_are_unique_slugs(engine: Engine) -> None:
    create_app(engine, "a")
    with pytest.raises(ConflictError):
        create_app(engine, "a")
    for bad in ("", "Has Caps", "-lead", "x" * 65, "émoji"):
        with pytest.raises(InvalidRequestError):
            create_app(engine, bad)


def test_rotation_revokes_or_keeps_the_old_key(engine: Engine) -> None:
    first = create_app(engine, "a")
    second = rotate_key(engine, "a", "write")
    assert second.secret_key is None and second.write_key
    assert resolve_key(engine, first.write_key or "") is None
    assert resolve_key(engine, second.write_key) is not None
    assert resolve_key(engine, first.secret_key or "") is not None  # other kind untouched
    third = rotate_key(engine, "a", "write", keep_old=True)
    assert resolve_key(engine, second.write_key) is not None
    assert resolve_key(engine, third.write_key or "") is not None
    assert len(get_app(engine, "a").write_key_prefixes) == 2
    with pytest.raises(NotFoundError):
        rotate_key(engine, "missing", "secret")


def test_list_and_show(engine: Engine) -> None:
    create_app(engine, "b")
    create_app(engine, "a")
    assert [a.name for a in list_apps(engine)] == ["b", "a"]
    info = get_app(engine, "a")
    assert info.event_count == 0
    assert len(info.write_key_prefixes) == 1 and len(info.secret_key_prefixes) == 1
    with pytest.raises(NotFoundError, match="eventkit apps list"):
        get_app(engine, "zzz")
