"""Scoped API tokens: issue, list, revoke, resolve, expiry and last use, on SQLite and
PostgreSQL; scope parsing and implications."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.errors import ConflictError, InvalidRequestError, NotFoundError
from eventkit.storage.apps import create_app
from eventkit.timeutil import US_PER_DAY, now_us
from eventkit.tokens import (
    TOKEN_SCOPES,
    create_token,
    expand,
    grants,
    list_tokens,
    parse_scopes,
    record_use,
    resolve_token,
    revoke_token,
)
from eventkit.tokens.store import parse_expiry


@pytest.fixture
def apps(engine: Engine) -> Engine:
    create_app(engine, "shop")
    create_app(engine, "other")
    return engine


def test_token_is_shown_once_and_stored_hashed(apps: Engine) -> None:
    new = create_token(apps, "shop", "ci", "reports:read,query:read")
    assert new.token.startswith("ek_token_") and len(new.token) > 40
    assert new.info.scopes == ("query:read", "reports:read")
    with apps.connect() as conn:
        stored = conn.execute(text("SELECT prefix, token_hash, scopes FROM api_tokens")).one()
    assert new.token not in stored  # neither the token nor a slice of it beyond the prefix
    assert stored[1] != new.token and len(stored[1]) == 64
    assert new.token.startswith(stored[0]) and len(stored[0]) == len("ek_token_") + 6
    resolved = resolve_token(apps, new.token)
    assert resolved is not None
    assert (resolved.app_name, resolved.name, resolved.scopes) == (
        "shop", "ci", ("query:read", "reports:read"),
    )  # fmt: skip


def test_unknown_tampered_and_foreign_strings_do_not_resolve(apps: Engine) -> None:
    new = create_token(apps, "shop", "ci", "admin")
    assert resolve_token(apps, new.token[:-1] + ("A" if new.token[-1] != "A" else "B")) is None
    assert resolve_token(apps, "ek_token_nothing") is None
    assert resolve_token(apps, "ek_secret_abc") is None
    assert resolve_token(apps, "") is None


def test_revoked_token_stops_resolving_and_name_can_be_reused(apps: Engine) -> None:
    first = create_token(apps, "shop", "ci", "reports:read")
    with pytest.raises(ConflictError, match="revoke it first"):
        create_token(apps, "shop", "ci", "reports:read")
    info = revoke_token(apps, "shop", "ci")
    assert info.status() == "revoked"
    assert resolve_token(apps, first.token) is None
    second = create_token(apps, "shop", "ci", "query:read")
    assert resolve_token(apps, second.token) is not None
    assert [t.name for t in list_tokens(apps, "shop")] == ["ci"]
    assert [t.status() for t in list_tokens(apps, "shop", include_revoked=True)] == [
        "revoked", "active",
    ]  # fmt: skip
    with pytest.raises(NotFoundError, match="no active token"):
        revoke_token(apps, "shop", "nope")


def test_tokens_belong_to_one_app(apps: Engine) -> None:
    new = create_token(apps, "shop", "ci", "admin")
    assert list_tokens(apps, "other") == []
    with pytest.raises(NotFoundError):
        revoke_token(apps, "other", "ci")
    resolved = resolve_token(apps, new.token)
    assert resolved is not None and resolved.app_name == "shop"
    with pytest.raises(NotFoundError, match="apps list"):
        create_token(apps, "missing", "ci", "admin")


def test_expiry_is_checked_at_use(apps: Engine) -> None:
    new = create_token(apps, "shop", "ci", "reports:read", expires="1d")
    resolved = resolve_token(apps, new.token)
    assert resolved is not None and not resolved.expired()
    assert resolved.expired(now_us() + 2 * US_PER_DAY)
    with apps.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET expires_at = :t"), {"t": now_us() - 1})
    again = resolve_token(apps, new.token)
    assert again is not None and again.expired()
    assert list_tokens(apps, "shop")[0].status() == "expired"


def test_last_use_is_recorded_at_most_once_a_minute(apps: Engine) -> None:
    new = create_token(apps, "shop", "ci", "reports:read")
    assert list_tokens(apps, "shop")[0].last_used_at is None
    resolved = resolve_token(apps, new.token)
    assert resolved is not None and resolved.stale_use
    record_use(apps, resolved.token_id, now=1_000_000_000_000)
    assert list_tokens(apps, "shop")[0].last_used_at == 1_000_000_000_000
    record_use(apps, resolved.token_id, now=1_000_000_000_000 + 30_000_000)  # 30 s later
    assert list_tokens(apps, "shop")[0].last_used_at == 1_000_000_000_000
    record_use(apps, resolved.token_id, now=1_000_000_000_000 + 61_000_000)
    assert list_tokens(apps, "shop")[0].last_used_at == 1_000_000_000_000 + 61_000_000


@pytest.mark.parametrize(
    ("name", "scopes", "expires", "message"),
    [
        ("bad name!", "admin", None, "token name"),
        ("ok", "", None, "at least one scope"),
        ("ok", "reports:read,events:write", None, "unknown scope 'events:write'"),
        ("ok", "admin", "soon", "cannot read the expiry"),
        ("ok", "admin", "0d", "cannot read the expiry"),
    ],
)
def test_bad_input_says_what_to_fix(
    apps: Engine, name: str, scopes: str, expires: str | None, message: str
) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        create_token(apps, "shop", name, scopes, expires=expires)


def test_scope_implications() -> None:
    assert expand(["admin"]) >= set(TOKEN_SCOPES) | {"capture"}
    assert grants(["flags:write"], "flags:read")
    assert not grants(["flags:read"], "flags:write")
    assert not grants(["reports:read", "query:read"], "flags:write")
    assert not grants(["reports:read"], "events:read")
    assert parse_scopes(" query:read , reports:read,query:read") == ("query:read", "reports:read")
    assert parse_expiry("never") is None
    assert parse_expiry("2w", now=0) == 14 * US_PER_DAY
