"""Share links: read-only URLs to some pages of one app, for people without an
account. Only the token's SHA-256 and a short prefix (to name the link) are stored; a
link can expire, carry a password, and be revoked (which also ends its unlocked
browsers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Engine

from eventkit.accounts.access import Principal, check_pages
from eventkit.accounts.passwords import hash_password, hash_token, new_password, new_token
from eventkit.errors import InvalidRequestError, NotFoundError
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import APPS, SHARE_LINKS, WEB_SESSIONS
from eventkit.timeutil import US_PER_SECOND, now_us

__all__ = [
    "NewShare",
    "ShareInfo",
    "create_share",
    "get_share",
    "list_shares",
    "resolve_share",
    "revoke_share",
    "share_principal",
]

_L = SHARE_LINKS.c
_PREFIX = 8
_TOUCH_US = 60 * US_PER_SECOND


@dataclass(frozen=True)
class ShareInfo:
    """A share link as listed (never with its token or password)."""

    id: int
    prefix: str
    app_id: int
    app_name: str
    pages: tuple[str, ...]
    query: str
    label: str
    has_password: bool
    password_hash: str | None
    created_by: str
    created_at: int
    expires_at: int | None
    revoked_at: int | None
    last_used_at: int | None

    def active(self, now: int) -> bool:
        """Not revoked and not expired at ``now``."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``share list --format json``."""
        return {
            "id": self.id,
            "prefix": self.prefix,
            "app": self.app_name,
            "pages": list(self.pages),
            "query": self.query,
            "label": self.label,
            "password": self.has_password,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "revoked_at": self.revoked_at,
            "last_used_at": self.last_used_at,
        }


@dataclass(frozen=True)
class NewShare:
    """A link just created: the only moment its token (and password) exist in clear."""

    info: ShareInfo
    token: str
    password: str | None


def _info(r: Any) -> ShareInfo:
    return ShareInfo(
        id=r["id"],
        prefix=r["prefix"],
        app_id=r["app_id"],
        app_name=r["app_name"],
        pages=tuple(r["pages"]),
        query=r["query"],
        label=r["label"],
        has_password=r["password_hash"] is not None,
        password_hash=r["password_hash"],
        created_by=r["created_by"],
        created_at=r["created_at"],
        expires_at=r["expires_at"],
        revoked_at=r["revoked_at"],
        last_used_at=r["last_used_at"],
    )


def _select() -> Any:
    return select(SHARE_LINKS, APPS.c.name.label("app_name")).join(APPS, APPS.c.id == _L.app_id)


def _check_query(query: str) -> str:
    query = query.strip().lstrip("?")
    if len(query) > 2000:
        raise InvalidRequestError("the query is too long (2000 characters at most)")
    try:
        parse_qsl(query, strict_parsing=bool(query))
    except ValueError:
        raise InvalidRequestError(
            f"cannot read the query {query!r}: use key=value pairs joined by &, "
            "e.g. since=30d&interval=week"
        ) from None
    return query


def create_share(
    engine: Engine,
    app_name: str,
    pages: list[str],
    *,
    actor: str,
    expires_seconds: int | None = None,
    password: bool = False,
    query: str = "",
    label: str = "",
    now: int | None = None,
) -> NewShare:
    """Create a read-only link to ``pages`` of ``app_name``.

    Raises:
        InvalidRequestError: an unshareable page or a bad query.
        NotFoundError: no such app.
    """
    try:
        pages = check_pages(pages)
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from None
    query = _check_query(query)
    now = now_us() if now is None else now
    token = new_token()
    pw = new_password() if password else None
    expires = now + expires_seconds * US_PER_SECOND if expires_seconds else None
    with map_db_errors(), engine.begin() as conn:
        app_id = conn.execute(select(APPS.c.id).where(APPS.c.name == app_name)).scalar()
        if app_id is None:
            raise NotFoundError(f"no app {app_name!r}: `eventkit apps list` shows the apps")
        sid = conn.execute(
            insert(SHARE_LINKS).values(
                token_hash=hash_token(token),
                prefix=token[:_PREFIX],
                app_id=app_id,
                pages=pages,
                query=query,
                label=label[:200],
                password_hash=hash_password(pw) if pw else None,
                created_by=actor,
                created_at=now,
                expires_at=expires,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
        row = conn.execute(_select().where(_L.id == sid)).mappings().one()
    return NewShare(_info(row), token, pw)


def get_share(engine: Engine, share_id: int) -> ShareInfo:
    """One link by id. Raises NotFoundError."""
    with map_db_errors(), engine.connect() as conn:
        row = conn.execute(_select().where(_L.id == share_id)).mappings().first()
    if row is None:
        raise NotFoundError(f"no share link {share_id}")
    return _info(row)


def list_shares(
    engine: Engine, *, app_ids: frozenset[int] | None = None, revoked: bool = False
) -> list[ShareInfo]:
    """Links, newest first (of ``app_ids`` only when given; revoked ones with ``revoked``)."""
    stmt = _select().order_by(_L.created_at.desc(), _L.id.desc())
    if app_ids is not None:
        stmt = stmt.where(_L.app_id.in_(list(app_ids)))
    if not revoked:
        stmt = stmt.where(_L.revoked_at.is_(None))
    with map_db_errors(), engine.connect() as conn:
        return [_info(r) for r in conn.execute(stmt).mappings()]


def revoke_share(
    engine: Engine,
    ident: str,
    *,
    app_ids: frozenset[int] | None = None,
    now: int | None = None,
) -> ShareInfo:
    """Revoke the link with id or prefix ``ident``; browsers it unlocked are signed out.

    Raises:
        NotFoundError: no such link (among ``app_ids`` when given).
    """
    now = now_us() if now is None else now
    cond = or_(_L.prefix == ident, _L.id == int(ident)) if ident.isdigit() else _L.prefix == ident
    with map_db_errors(), engine.begin() as conn:
        stmt = _select().where(cond)
        if app_ids is not None:
            stmt = stmt.where(_L.app_id.in_(list(app_ids)))
        rows = conn.execute(stmt).mappings().all()
        if len(rows) != 1:
            raise NotFoundError(
                f"no share link {ident!r}"
                if not rows
                else f"{len(rows)} links match {ident!r}; use the id from `eventkit share list`"
            )
        conn.execute(
            update(SHARE_LINKS)
            .where(_L.id == rows[0]["id"], _L.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        conn.execute(delete(WEB_SESSIONS).where(WEB_SESSIONS.c.share_id == rows[0]["id"]))
        row = conn.execute(_select().where(_L.id == rows[0]["id"])).mappings().one()
    return _info(row)


def resolve_share(engine: Engine, token: str, *, now: int | None = None) -> ShareInfo | None:
    """The active link of ``token``, or None (unknown, revoked or expired)."""
    now = now_us() if now is None else now
    with map_db_errors(), engine.connect() as conn:
        row = conn.execute(_select().where(_L.token_hash == hash_token(token))).mappings().first()
    if row is None:
        return None
    info = _info(row)
    if not info.active(now):
        return None
    if info.last_used_at is None or now - info.last_used_at >= _TOUCH_US:
        with map_db_errors(), engine.begin() as conn:
            conn.execute(update(SHARE_LINKS).where(_L.id == info.id).values(last_used_at=now))
    return info


def share_principal(info: ShareInfo, session_hash: str | None = None) -> Principal:
    """The read-only principal a share link acts as."""
    return Principal(
        kind="share",
        name=f"share:{info.prefix}",
        role="viewer",
        app_ids=frozenset({info.app_id}),
        pages=frozenset(info.pages),
        share_id=info.id,
        session_hash=session_hash,
    )
