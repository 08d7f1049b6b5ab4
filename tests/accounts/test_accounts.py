"""Members, sign-ins and share links on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from eventkit.accounts.members import (
    add_member,
    authenticate,
    change_password,
    get_member,
    invited_member,
    list_members,
    member_principal,
    redeem_invite,
    remove_member,
    reset_member,
    update_member,
)
from eventkit.accounts.passwords import hash_password, verify_password
from eventkit.accounts.shares import create_share, list_shares, resolve_share, revoke_share
from eventkit.accounts.signins import principal_for, revoke_signins, start_signin
from eventkit.errors import (
    AuthError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    TooManyAuthFailuresError,
)
from eventkit.storage.apps import create_app
from eventkit.storage.models import MEMBERS, SHARE_LINKS, WEB_SESSIONS
from eventkit.timeutil import US_PER_SECOND, now_us

PW = "correct horse battery"


@pytest.fixture
def apps(engine: Engine) -> dict[str, int]:
    return {n: create_app(engine, n).app_id for n in ("shop", "game")}


def _member(engine: Engine, name: str, role: str, apps: list[str] | None = None) -> int:
    inv = add_member(engine, name, role, apps, actor="test")
    assert inv.token is not None
    return redeem_invite(engine, inv.token, PW).id


def test_passwords_are_salted_scrypt_and_verify() -> None:
    a, b = hash_password(PW), hash_password(PW)
    assert a != b
    assert a.startswith("scrypt$32768$8$3$")
    assert verify_password(PW, a)
    assert not verify_password(PW + "x", a)
    assert not verify_password(PW, None)
    assert not verify_password(PW, "garbage")


def test_add_shows_a_one_time_link_and_stores_only_hashes(
    engine: Engine, apps: dict[str, int]
) -> None:
    inv = add_member(engine, "alice", "viewer", ["shop"], actor="cli:root")
    assert inv.token and inv.password is None and inv.expires_at
    assert inv.member.app_names == ("shop",) and not inv.member.all_apps
    with engine.connect() as conn:
        row = conn.execute(select(MEMBERS)).mappings().one()
    assert inv.token not in str(dict(row))
    assert row["password_hash"] is None
    assert invited_member(engine, inv.token).name == "alice"
    with pytest.raises(InvalidRequestError, match="at least 10"):
        redeem_invite(engine, inv.token, "short")
    redeem_invite(engine, inv.token, PW)
    with pytest.raises(NotFoundError, match="unknown, used or expired"):
        redeem_invite(engine, inv.token, PW)
    assert authenticate(engine, "alice", PW).name == "alice"
    with pytest.raises(ConflictError):
        add_member(engine, "alice", "admin", None, actor="x")
    with pytest.raises(NotFoundError, match="no app 'nope'"):
        add_member(engine, "bob", "viewer", ["nope"], actor="x")
    with pytest.raises(InvalidRequestError, match="role must be"):
        add_member(engine, "bob", "owner", None, actor="x")


def test_expired_invite_is_refused(engine: Engine, apps: dict[str, int]) -> None:
    past = now_us() - 100 * 3600 * US_PER_SECOND
    inv = add_member(engine, "carol", "viewer", None, actor="x", invite_hours=1, now=past)
    assert inv.token
    with pytest.raises(NotFoundError):
        redeem_invite(engine, inv.token, PW)


def test_generated_password(engine: Engine, apps: dict[str, int]) -> None:
    inv = add_member(engine, "dan", "editor", None, actor="x", password=True)
    assert inv.password and inv.token is None
    assert authenticate(engine, "dan", inv.password).role == "editor"


def test_failed_signins_lock_the_account(engine: Engine, apps: dict[str, int]) -> None:
    _member(engine, "erin", "viewer")
    now = now_us()
    for _ in range(3):
        with pytest.raises(AuthError, match="wrong name or password"):
            authenticate(engine, "erin", "wrong password", max_failures=3, now=now)
    # Locked: even the right password is refused until the lock ends.
    with pytest.raises(TooManyAuthFailuresError) as exc:
        authenticate(engine, "erin", PW, max_failures=3, now=now)
    assert 1 <= exc.value.retry_after <= 30
    later = now + 31 * US_PER_SECOND
    assert authenticate(engine, "erin", PW, max_failures=3, now=later).name == "erin"
    assert get_member(engine, "erin").locked_until is None
    with pytest.raises(AuthError, match="wrong name or password"):
        authenticate(engine, "nobody", PW)


def test_signins_end_on_reset_removal_password_change(engine: Engine, apps: dict[str, int]) -> None:
    mid = _member(engine, "fay", "admin")
    t1 = start_signin(engine, member_id=mid, lifetime_seconds=3600)
    t2 = start_signin(engine, member_id=mid, lifetime_seconds=3600)
    p = principal_for(engine, t1, idle_seconds=3600)
    assert p is not None and p.name == "fay" and p.can("admin") and p.app_ids is None
    # Password change keeps only the current sign-in.
    change_password(engine, mid, PW, PW + "!", keep_session=p.session_hash)
    assert principal_for(engine, t1, idle_seconds=3600) is not None
    assert principal_for(engine, t2, idle_seconds=3600) is None
    inv = reset_member(engine, "fay")
    assert principal_for(engine, t1, idle_seconds=3600) is None
    with pytest.raises(AuthError):
        authenticate(engine, "fay", PW + "!")
    assert inv.token
    redeem_invite(engine, inv.token, PW)
    t3 = start_signin(engine, member_id=mid, lifetime_seconds=3600)
    remove_member(engine, "fay")
    assert principal_for(engine, t3, idle_seconds=3600) is None
    with engine.connect() as conn:
        assert conn.execute(select(WEB_SESSIONS)).all() == []


def test_signin_lifetime_and_idle(engine: Engine, apps: dict[str, int]) -> None:
    mid = _member(engine, "gus", "viewer")
    now = now_us()
    tok = start_signin(engine, member_id=mid, lifetime_seconds=100, now=now)
    assert principal_for(engine, tok, idle_seconds=50, now=now + 40 * US_PER_SECOND)
    assert principal_for(engine, tok, idle_seconds=50, now=now + 101 * US_PER_SECOND) is None
    tok = start_signin(engine, member_id=mid, lifetime_seconds=1000, now=now)
    assert principal_for(engine, tok, idle_seconds=50, now=now + 51 * US_PER_SECOND) is None
    assert revoke_signins(engine, mid) == 0


def test_app_scope_and_roles(engine: Engine, apps: dict[str, int]) -> None:
    _member(engine, "hal", "editor", ["game"])
    p = member_principal(get_member(engine, "hal"))
    assert p.sees_app(apps["game"]) and not p.sees_app(apps["shop"])
    assert p.can("edit") and not p.can("admin")
    update_member(engine, "hal", role="viewer", apps=["shop"])
    p = member_principal(get_member(engine, "hal"))
    assert p.sees_app(apps["shop"]) and not p.sees_app(apps["game"]) and not p.can("edit")
    update_member(engine, "hal", all_apps=True)
    assert member_principal(get_member(engine, "hal")).app_ids is None
    assert [m.name for m in list_members(engine)] == ["hal"]


def test_share_links(engine: Engine, apps: dict[str, int]) -> None:
    new = create_share(engine, "shop", ["overview", "funnels"], actor="cli:x",
                       expires_seconds=3600, query="since=7d")  # fmt: skip
    assert new.password is None and new.info.pages == ("overview", "funnels")
    with engine.connect() as conn:
        assert new.token not in str(conn.execute(select(SHARE_LINKS)).mappings().one())
    found = resolve_share(engine, new.token)
    assert found is not None and found.app_id == apps["shop"]
    assert resolve_share(engine, new.token, now=now_us() + 3601 * US_PER_SECOND) is None
    assert resolve_share(engine, "not-a-token") is None
    with pytest.raises(InvalidRequestError, match="shows people or raw events"):
        create_share(engine, "shop", ["users"], actor="x")
    with pytest.raises(InvalidRequestError, match="is not a page"):
        create_share(engine, "shop", ["admin"], actor="x")
    with pytest.raises(NotFoundError):
        create_share(engine, "nope", ["overview"], actor="x")
    locked = create_share(engine, "game", ["overview"], actor="x", password=True)
    assert locked.password and locked.info.has_password
    tok = start_signin(engine, share_id=locked.info.id, lifetime_seconds=600)
    p = principal_for(engine, tok, idle_seconds=600)
    assert p is not None and p.is_share and p.app_ids == frozenset({apps["game"]})
    assert not p.can("edit") and p.sees_page("overview") and not p.sees_page("trends")
    # Revoking ends the link and every browser it unlocked; only the app's links match.
    with pytest.raises(NotFoundError):
        revoke_share(engine, locked.info.prefix, app_ids=frozenset({apps["shop"]}))
    revoke_share(engine, locked.info.prefix)
    assert resolve_share(engine, locked.token) is None
    assert principal_for(engine, tok, idle_seconds=600) is None
    assert [s.prefix for s in list_shares(engine)] == [new.info.prefix]
    assert len(list_shares(engine, revoked=True)) == 2
