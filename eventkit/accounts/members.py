"""Team members of the dashboard: add, list, change, remove, reset, and sign in.

A new member gets a one-time sign-in link (or a generated password) shown once; only
hashes are stored (``eventkit.accounts.passwords``). Failed sign-ins lock the account
for a while, longer with each further failure, in the database, so every server
process and node counts the same failures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from eventkit.accounts.access import Principal, Role, check_role
from eventkit.accounts.passwords import (
    check_password_strength,
    hash_password,
    hash_token,
    new_password,
    new_token,
    verify_password,
)
from eventkit.errors import (
    AuthError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    TooManyAuthFailuresError,
)
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import APPS, MEMBER_APPS, MEMBERS, WEB_SESSIONS
from eventkit.timeutil import US_PER_SECOND, now_us

__all__ = [
    "Invite",
    "MemberInfo",
    "add_member",
    "authenticate",
    "change_password",
    "get_member",
    "invited_member",
    "list_members",
    "member_principal",
    "redeem_invite",
    "remove_member",
    "reset_member",
    "update_member",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,63}$")
_M = MEMBERS.c
#: Longest lock after repeated failures.
_MAX_LOCK_SECONDS = 900
_WRONG = "wrong name or password"


@dataclass(frozen=True)
class MemberInfo:
    """A member as listed (never with a hash)."""

    id: int
    name: str
    role: Role
    all_apps: bool
    app_ids: tuple[int, ...]
    app_names: tuple[str, ...]
    has_password: bool
    invite_expires_at: int | None
    created_at: int
    created_by: str
    last_login_at: int | None
    locked_until: int | None
    signins: int

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``members list --format json``."""
        return {
            "name": self.name,
            "role": self.role,
            "apps": "*" if self.all_apps else list(self.app_names),
            "password_set": self.has_password,
            "invite_expires_at": self.invite_expires_at,
            "created_at": self.created_at,
            "created_by": self.created_by,
            "last_login_at": self.last_login_at,
            "locked_until": self.locked_until,
            "signins": self.signins,
        }


@dataclass(frozen=True)
class Invite:
    """What ``members add`` / ``reset`` hands out, once: a sign-in token (for the
    one-time link) or a generated password."""

    member: MemberInfo
    token: str | None
    password: str | None
    expires_at: int | None


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise InvalidRequestError(
            f"member name {name!r}: use 1-64 letters, digits and . _ @ + - "
            "(starting with a letter or digit)"
        )
    return name


def _app_ids(conn: Connection, names: list[str]) -> list[int]:
    found = dict(conn.execute(select(APPS.c.name, APPS.c.id).where(APPS.c.name.in_(names))).all())
    missing = [n for n in names if n not in found]
    if missing:
        raise NotFoundError(f"no app {missing[0]!r}: `eventkit apps list` shows the apps")
    return [found[n] for n in dict.fromkeys(names)]


def _infos(conn: Connection, where: Any = None) -> list[MemberInfo]:
    stmt = select(MEMBERS).order_by(_M.name)
    if where is not None:
        stmt = stmt.where(where)
    rows = conn.execute(stmt).mappings().all()
    ids = [r["id"] for r in rows]
    apps: dict[int, list[tuple[int, str]]] = {}
    for mid, aid, aname in conn.execute(
        select(MEMBER_APPS.c.member_id, APPS.c.id, APPS.c.name)
        .join(APPS, APPS.c.id == MEMBER_APPS.c.app_id)
        .where(MEMBER_APPS.c.member_id.in_(ids))
        .order_by(APPS.c.name)
    ):
        apps.setdefault(mid, []).append((aid, aname))
    now = now_us()
    rows_count = conn.execute(
        select(WEB_SESSIONS.c.member_id, func.count())
        .where(WEB_SESSIONS.c.member_id.in_(ids), WEB_SESSIONS.c.expires_at > now)
        .group_by(WEB_SESSIONS.c.member_id)
    ).all()
    counts: dict[int, int] = {int(r[0]): int(r[1]) for r in rows_count}
    return [
        MemberInfo(
            id=r["id"],
            name=r["name"],
            role=r["role"],
            all_apps=bool(r["all_apps"]),
            app_ids=tuple(a for a, _ in apps.get(r["id"], [])),
            app_names=tuple(n for _, n in apps.get(r["id"], [])),
            has_password=r["password_hash"] is not None,
            invite_expires_at=r["invite_expires_at"],
            created_at=r["created_at"],
            created_by=r["created_by"],
            last_login_at=r["last_login_at"],
            locked_until=r["locked_until"],
            signins=int(counts.get(r["id"], 0)),
        )
        for r in rows
    ]


def _one(conn: Connection, name: str) -> MemberInfo:
    found = _infos(conn, _M.name == name)
    if not found:
        raise NotFoundError(f"no member {name!r}: `eventkit members list` shows the members")
    return found[0]


def _credentials(password: bool, invite_hours: float, now: int) -> dict[str, Any]:
    """New credentials: a generated password, or a one-time sign-in token."""
    if password:
        pw = new_password()
        return {
            "password_hash": hash_password(pw),
            "invite_hash": None,
            "invite_expires_at": None,
            "_password": pw,
            "_token": None,
        }
    token = new_token()
    expires = now + int(invite_hours * 3600 * US_PER_SECOND)
    return {
        "password_hash": None,
        "invite_hash": hash_token(token),
        "invite_expires_at": expires,
        "_password": None,
        "_token": token,
    }


def _store(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if not k.startswith("_")}


def add_member(
    engine: Engine,
    name: str,
    role: str,
    apps: list[str] | None,
    *,
    actor: str,
    invite_hours: float = 72.0,
    password: bool = False,
    now: int | None = None,
) -> Invite:
    """Add a member with ``role`` for ``apps`` (None or empty: every app).

    Raises:
        InvalidRequestError: a bad name or role.
        NotFoundError: an unknown app.
        ConflictError: the name is taken.
    """
    _check_name(name)
    try:
        role = check_role(role)
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None
    now = now_us() if now is None else now
    creds = _credentials(password, invite_hours, now)
    with map_db_errors(), engine.begin() as conn:
        if conn.execute(select(_M.id).where(_M.name == name)).first():
            raise ConflictError(
                f"member {name!r} exists: `eventkit members reset {name}` gives a new sign-in link"
            )
        app_ids = _app_ids(conn, apps) if apps else []
        mid = conn.execute(
            insert(MEMBERS).values(
                name=name,
                role=role,
                all_apps=not app_ids,
                failed_logins=0,
                created_at=now,
                created_by=actor,
                **_store(creds),
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        for aid in app_ids:
            conn.execute(insert(MEMBER_APPS).values(member_id=mid, app_id=aid))
        info = _one(conn, name)
    return Invite(info, creds["_token"], creds["_password"], creds["invite_expires_at"])


def list_members(engine: Engine) -> list[MemberInfo]:
    """Every member, by name."""
    with map_db_errors(), engine.connect() as conn:
        return _infos(conn)


def get_member(engine: Engine, name: str) -> MemberInfo:
    """One member. Raises NotFoundError."""
    with map_db_errors(), engine.connect() as conn:
        return _one(conn, name)


def update_member(
    engine: Engine,
    name: str,
    *,
    role: str | None = None,
    apps: list[str] | None = None,
    all_apps: bool = False,
) -> MemberInfo:
    """Change a member's role and/or apps (``apps`` replaces the list; ``all_apps``
    grants every app). Takes effect on the member's next request."""
    with map_db_errors(), engine.begin() as conn:
        info = _one(conn, name)
        if role is not None:
            try:
                conn.execute(update(MEMBERS).where(_M.id == info.id).values(role=check_role(role)))
            except ValueError as exc:
                raise InvalidRequestError(str(exc)) from None
        if apps or all_apps:
            ids = [] if all_apps else _app_ids(conn, apps or [])
            conn.execute(delete(MEMBER_APPS).where(MEMBER_APPS.c.member_id == info.id))
            for aid in ids:
                conn.execute(insert(MEMBER_APPS).values(member_id=info.id, app_id=aid))
            conn.execute(update(MEMBERS).where(_M.id == info.id).values(all_apps=not ids))
        return _one(conn, name)


def remove_member(engine: Engine, name: str) -> MemberInfo:
    """Remove a member; their sign-ins end with the row (foreign-key cascade)."""
    with map_db_errors(), engine.begin() as conn:
        info = _one(conn, name)
        conn.execute(delete(WEB_SESSIONS).where(WEB_SESSIONS.c.member_id == info.id))
        conn.execute(delete(MEMBER_APPS).where(MEMBER_APPS.c.member_id == info.id))
        conn.execute(delete(MEMBERS).where(_M.id == info.id))
    return info


def reset_member(
    engine: Engine,
    name: str,
    *,
    invite_hours: float = 72.0,
    password: bool = False,
    now: int | None = None,
) -> Invite:
    """Forget the member's password, end every sign-in, unlock the account and hand
    out a new one-time link (or password)."""
    now = now_us() if now is None else now
    creds = _credentials(password, invite_hours, now)
    with map_db_errors(), engine.begin() as conn:
        info = _one(conn, name)
        conn.execute(delete(WEB_SESSIONS).where(WEB_SESSIONS.c.member_id == info.id))
        conn.execute(
            update(MEMBERS)
            .where(_M.id == info.id)
            .values(failed_logins=0, locked_until=None, **_store(creds))
        )
        info = _one(conn, name)
    return Invite(info, creds["_token"], creds["_password"], creds["invite_expires_at"])


def invited_member(engine: Engine, token: str, *, now: int | None = None) -> MemberInfo:
    """The member a one-time sign-in token was issued to.

    Raises:
        NotFoundError: unknown, used or expired link.
    """
    now = now_us() if now is None else now
    with map_db_errors(), engine.connect() as conn:
        row = conn.execute(
            select(_M.name).where(_M.invite_hash == hash_token(token), _M.invite_expires_at > now)
        ).first()
        if row is None:
            raise NotFoundError(
                "this sign-in link is unknown, used or expired; ask an admin for a new one "
                "(`eventkit members reset NAME`)"
            )
        return _one(conn, row.name)


def redeem_invite(
    engine: Engine, token: str, password: str, *, now: int | None = None
) -> MemberInfo:
    """Set the password of the member a one-time link was issued to; the link is used up.

    Raises:
        NotFoundError: unknown, used or expired link.
        InvalidRequestError: a password too weak.
    """
    now = now_us() if now is None else now
    info = invited_member(engine, token, now=now)
    weak = check_password_strength(password, info.name)
    if weak:
        raise InvalidRequestError(f"password: {weak}")
    hashed = hash_password(password)
    with map_db_errors(), engine.begin() as conn:
        done = conn.execute(
            update(MEMBERS)
            .where(_M.id == info.id, _M.invite_hash == hash_token(token))
            .values(
                password_hash=hashed,
                invite_hash=None,
                invite_expires_at=None,
                failed_logins=0,
                locked_until=None,
                last_login_at=now,
            )
        ).rowcount
        if not done:  # redeemed concurrently
            raise NotFoundError("this sign-in link was just used; sign in with your password")
        conn.execute(delete(WEB_SESSIONS).where(WEB_SESSIONS.c.member_id == info.id))
        return _one(conn, info.name)


def _lock_seconds(failures: int, limit: int) -> int:
    return int(min(_MAX_LOCK_SECONDS, 30 * 2 ** max(0, failures - limit)))


def authenticate(
    engine: Engine,
    name: str,
    password: str,
    *,
    max_failures: int = 5,
    now: int | None = None,
) -> MemberInfo:
    """The member ``name`` if ``password`` is theirs.

    Raises:
        TooManyAuthFailuresError: the account is locked after repeated failures (429).
        AuthError: wrong name or password (the same answer for both, 401).
    """
    now = now_us() if now is None else now
    with map_db_errors(), engine.connect() as conn:
        row = conn.execute(select(MEMBERS).where(_M.name == name)).mappings().first()
    if row is not None and row["locked_until"] and row["locked_until"] > now:
        wait = -(-(row["locked_until"] - now) // US_PER_SECOND)
        raise TooManyAuthFailuresError(
            f"too many failed sign-ins for this account; try again in {wait} s "
            "(or ask an admin to `eventkit members reset` it)",
            retry_after=int(wait),
        )
    ok = verify_password(password, row["password_hash"] if row is not None else None)
    if row is None:
        raise AuthError(_WRONG)
    with map_db_errors(), engine.begin() as conn:
        if ok:
            conn.execute(
                update(MEMBERS)
                .where(_M.id == row["id"])
                .values(failed_logins=0, locked_until=None, last_login_at=now)
            )
            return _one(conn, name)
        # Counted (and committed) before answering: the failure must stick.
        conn.execute(
            update(MEMBERS).where(_M.id == row["id"]).values(failed_logins=_M.failed_logins + 1)
        )
        failures = conn.execute(select(_M.failed_logins).where(_M.id == row["id"])).scalar()
        if failures is not None and failures >= max_failures:
            until = now + _lock_seconds(failures, max_failures) * US_PER_SECOND
            conn.execute(update(MEMBERS).where(_M.id == row["id"]).values(locked_until=until))
    raise AuthError(_WRONG)


def change_password(
    engine: Engine, member_id: int, old: str, new: str, *, keep_session: str | None = None
) -> None:
    """Change a member's own password; every other sign-in of theirs ends.

    Raises:
        AuthError: ``old`` is wrong.
        InvalidRequestError: ``new`` is too weak.
    """
    with map_db_errors(), engine.connect() as conn:
        row = conn.execute(select(_M.name, _M.password_hash).where(_M.id == member_id)).first()
    if row is None or not verify_password(old, row.password_hash):
        raise AuthError("the current password is wrong")
    weak = check_password_strength(new, row.name)
    if weak:
        raise InvalidRequestError(f"new password: {weak}")
    hashed = hash_password(new)
    with map_db_errors(), engine.begin() as conn:
        conn.execute(update(MEMBERS).where(_M.id == member_id).values(password_hash=hashed))
        stmt = delete(WEB_SESSIONS).where(WEB_SESSIONS.c.member_id == member_id)
        if keep_session is not None:
            stmt = stmt.where(WEB_SESSIONS.c.id_hash != keep_session)
        conn.execute(stmt)


def member_principal(info: MemberInfo, session_hash: str | None = None) -> Principal:
    """The principal a signed-in member acts as."""
    return Principal(
        kind="member",
        name=info.name,
        role=info.role,
        app_ids=None if info.all_apps else frozenset(info.app_ids),
        member_id=info.id,
        session_hash=session_hash,
    )
