"""Signed-in browsers: a random session token in a cookie, its SHA-256 in
``web_sessions``. A sign-in ends at its lifetime, after being idle, at sign-out, and
when the member is reset or removed or changes their password.

Every sign-in gets a new token, so a session id planted before sign-in (session
fixation) is never promoted.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Engine

from eventkit.accounts.access import Principal
from eventkit.accounts.members import get_member, member_principal
from eventkit.accounts.passwords import hash_token, new_token
from eventkit.accounts.shares import get_share, share_principal
from eventkit.errors import NotFoundError
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import MEMBERS, WEB_SESSIONS
from eventkit.timeutil import US_PER_SECOND, now_us

__all__ = [
    "SigninInfo",
    "csrf_token",
    "end_signin",
    "list_signins",
    "principal_for",
    "purge_signins",
    "revoke_signins",
    "start_signin",
]

_S = WEB_SESSIONS.c
#: last_seen_at is written at most this often per sign-in (one write per minute,
#: not one per request).
_TOUCH_US = 60 * US_PER_SECOND


@dataclass(frozen=True)
class SigninInfo:
    """A sign-in as its member sees it (``/account``)."""

    id_hash: str
    created_at: int
    last_seen_at: int
    expires_at: int
    address: str
    user_agent: str


def start_signin(
    engine: Engine,
    *,
    member_id: int | None = None,
    share_id: int | None = None,
    lifetime_seconds: float,
    address: str = "",
    user_agent: str = "",
    now: int | None = None,
) -> str:
    """A new sign-in for a member (or an unlocked share link); returns its token."""
    now = now_us() if now is None else now
    token = new_token()
    with map_db_errors(), engine.begin() as conn:
        conn.execute(
            insert(WEB_SESSIONS).values(
                id_hash=hash_token(token),
                member_id=member_id,
                share_id=share_id,
                created_at=now,
                last_seen_at=now,
                expires_at=now + int(lifetime_seconds * US_PER_SECOND),
                address=address[:64],
                user_agent=user_agent[:200],
            )
        )
    return token


def _live_row(engine: Engine, token: str, idle_seconds: float, now: int) -> Any:
    digest = hash_token(token)
    with map_db_errors(), engine.connect() as conn:
        row = conn.execute(select(WEB_SESSIONS).where(_S.id_hash == digest)).mappings().first()
    if row is None:
        return None
    idle_until = row["last_seen_at"] + int(idle_seconds * US_PER_SECOND)
    if row["expires_at"] <= now or idle_until <= now:
        with map_db_errors(), engine.begin() as conn:
            conn.execute(delete(WEB_SESSIONS).where(_S.id_hash == digest))
        return None
    if now - row["last_seen_at"] >= _TOUCH_US:
        with map_db_errors(), engine.begin() as conn:
            conn.execute(update(WEB_SESSIONS).where(_S.id_hash == digest).values(last_seen_at=now))
    return row


def principal_for(
    engine: Engine, token: str, *, idle_seconds: float, now: int | None = None
) -> Principal | None:
    """Who the sign-in ``token`` belongs to, or None (unknown, expired, idle too long,
    member removed, share link revoked or expired)."""
    now = now_us() if now is None else now
    row = _live_row(engine, token, idle_seconds, now)
    if row is None:
        return None
    try:
        if row["member_id"] is not None:
            with map_db_errors(), engine.connect() as conn:
                name = conn.execute(
                    select(MEMBERS.c.name).where(MEMBERS.c.id == row["member_id"])
                ).scalar()
            if name is None:
                return None
            return member_principal(get_member(engine, name), row["id_hash"])
        share = get_share(engine, row["share_id"])
    except NotFoundError:
        return None
    if not share.active(now):
        return None
    return share_principal(share, row["id_hash"])


def end_signin(engine: Engine, token: str) -> None:
    """Sign out: forget the sign-in ``token``."""
    with map_db_errors(), engine.begin() as conn:
        conn.execute(delete(WEB_SESSIONS).where(_S.id_hash == hash_token(token)))


def revoke_signins(engine: Engine, member_id: int, *, keep: str | None = None) -> int:
    """End every sign-in of a member (but ``keep``, a session hash); how many ended."""
    stmt = delete(WEB_SESSIONS).where(_S.member_id == member_id)
    if keep is not None:
        stmt = stmt.where(_S.id_hash != keep)
    with map_db_errors(), engine.begin() as conn:
        return int(conn.execute(stmt).rowcount)


def list_signins(engine: Engine, member_id: int, *, now: int | None = None) -> list[SigninInfo]:
    """A member's current sign-ins, newest first."""
    now = now_us() if now is None else now
    stmt = (
        select(WEB_SESSIONS)
        .where(_S.member_id == member_id, _S.expires_at > now)
        .order_by(_S.last_seen_at.desc())
    )
    with map_db_errors(), engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return [
        SigninInfo(
            r["id_hash"],
            r["created_at"],
            r["last_seen_at"],
            r["expires_at"],
            r["address"],
            r["user_agent"],
        )
        for r in rows
    ]


def purge_signins(engine: Engine, *, idle_seconds: float, now: int | None = None) -> int:
    """Delete ended sign-ins (past their lifetime or idle too long); how many."""
    now = now_us() if now is None else now
    idle_before = now - int(idle_seconds * US_PER_SECOND)
    stmt = delete(WEB_SESSIONS).where(or_(_S.expires_at <= now, _S.last_seen_at <= idle_before))
    with map_db_errors(), engine.begin() as conn:
        return int(conn.execute(stmt).rowcount)


def csrf_token(session_token: str, purpose: str = "csrf") -> str:
    """The CSRF token of a sign-in (or of a pre-sign-in cookie): an HMAC of the secret
    cookie value, so it needs no storage and a page of another origin cannot know it."""
    return hmac.new(session_token.encode(), purpose.encode(), hashlib.sha256).hexdigest()
