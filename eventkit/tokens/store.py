"""Scoped API tokens: issue, list, revoke and resolve (docs/security.md).

A token is ``ek_token_`` plus 256 random bits. It is shown once, when issued; only
its SHA-256 hash and a short prefix are stored. Resolution finds the candidate rows
by prefix and compares hashes in constant time, like app keys. The last use is
recorded at most once a minute per token (resolution itself is cached by the API for
30 s), so a busy script costs the database one small write a minute, not one per
request.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.engine import Connection, Engine

from eventkit.errors import ConflictError, EventKitError, InvalidRequestError, NotFoundError
from eventkit.storage.engine import writer
from eventkit.storage.errors import map_db_errors
from eventkit.storage.models import API_TOKENS, APPS
from eventkit.timeutil import US_PER_SECOND, now_us
from eventkit.tokens.scopes import TokenScope, format_scopes, parse_scopes

__all__ = [
    "TOKEN_PREFIX",
    "NewToken",
    "ResolvedToken",
    "TokenInfo",
    "create_token",
    "is_token",
    "list_tokens",
    "parse_expiry",
    "record_use",
    "resolve_token",
    "revoke_token",
]

log = logging.getLogger("eventkit.tokens")

TOKEN_PREFIX = "ek_token_"  # noqa: S105 - a marker, not a secret
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_UNITS = {"h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
#: Last use is written when the stored value is older than this.
_TOUCH_US = 60 * US_PER_SECOND


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed (never the token itself)."""

    id: int
    app: str
    name: str
    prefix: str
    scopes: tuple[str, ...]
    created_at: int
    created_by: str
    expires_at: int | None
    last_used_at: int | None
    revoked_at: int | None

    def status(self, now: int | None = None) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (
            now if now is not None else now_us()
        ):
            return "expired"
        return "active"


@dataclass(frozen=True)
class NewToken:
    """A token just issued: the only moment its plain text exists."""

    token: str
    info: TokenInfo


@dataclass(frozen=True)
class ResolvedToken:
    """What a presented token grants. ``expires_at`` is checked at every use (the
    resolution may be cached), see :meth:`expired`."""

    token_id: int
    app_id: int
    app_name: str
    name: str
    scopes: tuple[str, ...]
    expires_at: int | None
    #: The stored last use is older than a minute: call :func:`record_use`.
    stale_use: bool = False

    def expired(self, now: int | None = None) -> bool:
        """Whether the token has expired by ``now``."""
        return self.expires_at is not None and self.expires_at <= (
            now if now is not None else now_us()
        )


def is_token(text: str) -> bool:
    """Whether ``text`` looks like a scoped token (rather than an app key)."""
    return text.startswith(TOKEN_PREFIX)


def _hash(token: str) -> str:
    # 256 random bits: a fast hash is safe (nothing to brute-force), as for app keys.
    return hashlib.sha256(token.encode()).hexdigest()


def _prefix(token: str) -> str:
    return token[: len(TOKEN_PREFIX) + 6]


def parse_expiry(text: str | None, *, now: int | None = None) -> int | None:
    """``90d``, ``12h``, ``2w``, ``1y`` from now as epoch µs; ``never``/None: no expiry.

    Raises:
        InvalidRequestError: any other text.
    """
    if text is None or text.strip().lower() in ("", "never"):
        return None
    t = text.strip().lower()
    if t[-1:] in _UNITS and t[:-1].isdigit() and int(t[:-1]) > 0:
        return (now if now is not None else now_us()) + int(t[:-1]) * _UNITS[t[-1]] * US_PER_SECOND
    raise InvalidRequestError(
        f"cannot read the expiry {text!r}: use a span such as 12h, 90d, 2w or 1y, or never"
    )


def _app(conn: Connection, name: str) -> Any:
    row = conn.execute(select(APPS.c.id, APPS.c.name).where(APPS.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no app named {name!r}; `eventkit apps list` shows the apps")
    return row


def _info(row: Row[Any], app: str) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        app=app,
        name=row.name,
        prefix=row.prefix + "…",
        scopes=tuple(s for s in row.scopes.split(",") if s),
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def create_token(
    engine: Engine,
    app: str,
    name: str,
    scopes: str | tuple[TokenScope, ...] | list[str],
    *,
    expires: str | None = None,
    created_by: str = "cli",
) -> NewToken:
    """Issue a token for ``app`` with ``scopes`` (see :mod:`eventkit.tokens.scopes`).

    Raises:
        InvalidRequestError: a bad name, scope or expiry.
        NotFoundError: no such app.
        ConflictError: the app already has an active token of that name.
    """
    if not _NAME.match(name):
        raise InvalidRequestError(
            f"token name {name!r} must be 1-64 characters of letters, digits, '.', '-' "
            "or '_', starting with a letter or digit"
        )
    granted = format_scopes(parse_scopes(scopes))
    expires_at = parse_expiry(expires)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = now_us()
    with map_db_errors(), writer(engine).begin() as conn:
        a = _app(conn, app)
        clash = conn.execute(
            select(API_TOKENS.c.id).where(
                API_TOKENS.c.app_id == a.id,
                API_TOKENS.c.name == name,
                API_TOKENS.c.revoked_at.is_(None),
            )
        ).first()
        if clash is not None:
            raise ConflictError(
                f"app {app!r} already has a token named {name!r}: revoke it first "
                f"(`eventkit tokens revoke {name} --app {app}`) or pick another name"
            )
        conn.execute(
            API_TOKENS.insert().values(
                app_id=a.id,
                name=name,
                prefix=_prefix(token),
                token_hash=_hash(token),
                scopes=granted,
                created_at=now,
                created_by=created_by,
                expires_at=expires_at,
            )
        )
        row = conn.execute(select(API_TOKENS).where(API_TOKENS.c.token_hash == _hash(token))).one()
    return NewToken(token=token, info=_info(row, a.name))


def list_tokens(engine: Engine, app: str, *, include_revoked: bool = False) -> list[TokenInfo]:
    """The app's tokens, oldest first (revoked ones only with ``include_revoked``).

    Raises:
        NotFoundError: no such app.
    """
    with map_db_errors(), engine.connect() as conn:
        a = _app(conn, app)
        q = select(API_TOKENS).where(API_TOKENS.c.app_id == a.id).order_by(API_TOKENS.c.id)
        if not include_revoked:
            q = q.where(API_TOKENS.c.revoked_at.is_(None))
        return [_info(r, a.name) for r in conn.execute(q).all()]


def revoke_token(engine: Engine, app: str, name: str) -> TokenInfo:
    """Revoke the app's active token called ``name`` (or whose prefix is ``name``).
    Servers stop accepting it within their key-cache time (30 s).

    Raises:
        NotFoundError: no such app or active token.
    """
    with map_db_errors(), writer(engine).begin() as conn:
        a = _app(conn, app)
        key = name.rstrip("…")
        rows = conn.execute(
            select(API_TOKENS).where(
                API_TOKENS.c.app_id == a.id,
                API_TOKENS.c.revoked_at.is_(None),
                (API_TOKENS.c.name == key) | (API_TOKENS.c.prefix == key),
            )
        ).all()
        if not rows:
            raise NotFoundError(
                f"app {app!r} has no active token named {name!r}: "
                f"`eventkit tokens list --app {app}` shows them"
            )
        now = now_us()
        conn.execute(update(API_TOKENS).where(API_TOKENS.c.id == rows[0].id).values(revoked_at=now))
        row = conn.execute(select(API_TOKENS).where(API_TOKENS.c.id == rows[0].id)).one()
    return _info(row, a.name)


def record_use(engine: Engine, token_id: int, now: int | None = None) -> None:
    """Record a use of the token (callers run it off the request path, when
    :attr:`ResolvedToken.stale_use` says so). Best effort: a busy or unavailable
    database is logged, never raised."""
    now = now if now is not None else now_us()
    try:
        with map_db_errors(), writer(engine).begin() as conn:
            conn.execute(
                update(API_TOKENS)
                .where(
                    API_TOKENS.c.id == token_id,
                    (API_TOKENS.c.last_used_at.is_(None))
                    | (API_TOKENS.c.last_used_at < now - _TOUCH_US),
                )
                .values(last_used_at=now)
            )
    except EventKitError as exc:
        log.warning("could not record the last use of token %d: %s", token_id, exc.message)


def resolve_token(engine: Engine, token: str) -> ResolvedToken | None:
    """What ``token`` grants, or None for an unknown or revoked token. An expired token
    resolves (so the caller can say it expired); check :meth:`ResolvedToken.expired`.
    Reads only: see :func:`record_use`."""
    if not is_token(token):
        return None
    digest = _hash(token)
    with map_db_errors(), engine.connect() as conn:
        rows = conn.execute(
            select(API_TOKENS, APPS.c.name.label("app_name"))
            .join(APPS, APPS.c.id == API_TOKENS.c.app_id)
            .where(API_TOKENS.c.prefix == _prefix(token), API_TOKENS.c.revoked_at.is_(None))
        ).all()
    found = None
    for row in rows:
        if hmac.compare_digest(row.token_hash, digest):
            found = row
    if found is None:
        return None
    now = now_us()
    return ResolvedToken(
        token_id=found.id,
        app_id=found.app_id,
        app_name=found.app_name,
        name=found.name,
        scopes=tuple(s for s in found.scopes.split(",") if s),
        expires_at=found.expires_at,
        stale_use=found.last_used_at is None or found.last_used_at < now - _TOUCH_US,
    )
