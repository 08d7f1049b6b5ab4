"""Who a dashboard request is, and the checks every state-changing request passes.

- Members sign in with a password; the session cookie holds a random token (only its
  hash is stored), HttpOnly, SameSite=Lax, Secure under TLS, and is replaced at every
  sign-in (no session fixation).
- CSRF: every POST carries a token that is an HMAC of the session cookie (before
  sign-in: of a random pre-session cookie); a page of another origin can neither read
  it nor the cookie. Requests the browser marks ``Sec-Fetch-Site: cross-site`` are
  refused as well.
- Failed sign-ins are limited per client address here (in this process) and per
  account in the database (``eventkit.accounts.members.authenticate``).
- Optional: a trusted reverse proxy names the member in a header (``web.proxy_auth_*``).
"""

from __future__ import annotations

import hmac
import math
from typing import Any

from litestar import Request, Response
from litestar.datastructures import Cookie
from sqlalchemy.engine import Engine

from eventkit.accounts.access import Principal
from eventkit.accounts.members import get_member, member_principal
from eventkit.accounts.passwords import new_token
from eventkit.accounts.signins import csrf_token, principal_for
from eventkit.api.deps import provide_runtime
from eventkit.api.limits import TokenBuckets, client_address
from eventkit.config import Settings
from eventkit.errors import (
    AuthError,
    NotFoundError,
    PermissionDeniedError,
    TooManyAuthFailuresError,
)

__all__ = [
    "PRE_COOKIE",
    "SESSION_COOKIE",
    "SHARE_COOKIE",
    "check_csrf",
    "cookie",
    "csrf_of",
    "engine_of",
    "login_throttle",
    "member_of",
    "require_member",
    "settings_of",
]

SESSION_COOKIE = "eventkit_session"
PRE_COOKIE = "eventkit_pre"
SHARE_COOKIE = "eventkit_share"

Req = Request[Any, Any, Any]


def settings_of(request: Req) -> Settings:
    """The server's settings."""
    settings: Settings = request.app.state.settings
    return settings


def engine_of(request: Req) -> Engine:
    """The server's database engine (from the app's ``runtime`` dependency)."""
    return provide_runtime(request).engine


def base_path(request: Req) -> str:
    """The dashboard's path prefix ('' at the root)."""
    return settings_of(request).web.base_path.rstrip("/")


def _secure(request: Req) -> bool:
    s = settings_of(request)
    mode = s.web.secure_cookies
    if mode != "auto":
        return mode == "always"
    return bool(
        s.tls.enabled or s.server.public_url.startswith("https:") or request.url.scheme == "https"
    )


def cookie(
    request: Req, name: str, value: str, *, max_age: int | None = None, path: str | None = None
) -> Cookie:
    """A dashboard cookie: HttpOnly, SameSite=Lax, Secure under TLS, scoped to the
    dashboard's path. An empty ``value`` deletes it."""
    return Cookie(
        key=name,
        value=value,
        path=path or (base_path(request) or "/"),
        max_age=0 if not value else max_age,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


def _proxy_member(request: Req) -> Principal | None:
    web = settings_of(request).web
    if not web.proxy_auth_header:
        return None
    name = request.headers.get(web.proxy_auth_header, "").strip()
    if not name or client_address(request) not in web.proxy_auth_addresses:
        return None
    try:
        return member_principal(get_member(engine_of(request), name))
    except NotFoundError:
        raise PermissionDeniedError(
            f"the proxy signed in {name!r}, who is not a member: `eventkit members add {name}`"
        ) from None


def member_of(request: Req) -> Principal | None:
    """The signed-in member (session cookie or trusted proxy header), or None."""
    if "ek_principal" in request.scope:
        found: Principal | None = request.scope["ek_principal"]  # type: ignore[typeddict-item]
        return found
    # Cached before the checks: a refused proxy name is not asked again by the error page.
    request.scope["ek_principal"] = None  # type: ignore[typeddict-unknown-key]
    principal = _proxy_member(request)
    token = request.cookies.get(SESSION_COOKIE)
    if principal is None and token:
        idle = settings_of(request).web.idle_hours * 3600
        principal = principal_for(engine_of(request), token, idle_seconds=idle)
        if principal is not None and principal.is_share:
            principal = None
    request.scope["ek_principal"] = principal  # type: ignore[typeddict-unknown-key]
    return principal


def require_member(request: Req) -> Principal:
    """The signed-in member.

    Raises:
        AuthError: nobody is signed in (HTML pages redirect to the sign-in page).
    """
    principal = member_of(request)
    if principal is None:
        raise AuthError("sign in first")
    return principal


def pre_token(request: Req) -> str:
    """This browser's pre-session token (the CSRF basis before sign-in); a new one is
    made (and set as a cookie by the response) when the browser has none."""
    value = request.cookies.get(PRE_COOKIE) or request.scope.get("ek_pre")
    if not value:
        value = new_token()
        request.scope["ek_pre"] = value  # type: ignore[typeddict-unknown-key]
    return str(value)


def csrf_of(request: Req, basis: str | None = None) -> str:
    """The CSRF token forms of this request's pages carry: an HMAC of the sign-in
    cookie, or (signed out) of the pre-session cookie."""
    if basis is None:
        session = request.cookies.get(SESSION_COOKIE)
        basis = session if session and member_of(request) else pre_token(request)
    return csrf_token(basis) if basis else ""


def ensure_pre_cookie(request: Req, response: Response[Any]) -> None:
    """Set the pre-session cookie made for this request, if one was."""
    made = request.scope.get("ek_pre")
    if made and not request.cookies.get(PRE_COOKIE):
        response.set_cookie(cookie(request, PRE_COOKIE, str(made)))


def check_csrf(request: Req, form: dict[str, Any], basis: str | None = None) -> None:
    """Refuse a state-changing request without the right CSRF token (403)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise PermissionDeniedError("refused a cross-site request")
    sent = str(form.get("csrf") or request.headers.get("x-csrf-token") or "")
    expected = csrf_of(request, basis)
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise PermissionDeniedError(
            "the form's security token is missing or stale: reload the page and try again"
        )


def login_throttle(request: Req) -> TokenBuckets:
    """This process's failed-sign-in buckets, one per client address."""
    state = request.app.state
    buckets: TokenBuckets | None = state.get("web_login_buckets")
    if buckets is None:
        per_minute = settings_of(request).web.login_failures_per_minute
        buckets = TokenBuckets(per_minute / 60, max(1.0, per_minute))
        state["web_login_buckets"] = buckets
    return buckets


def check_address(request: Req) -> None:
    """Refuse a sign-in attempt from an address that failed too often (429)."""
    wait = login_throttle(request).wait(client_address(request) or "?")
    if wait > 0:
        raise TooManyAuthFailuresError(
            f"too many failed sign-ins from this address; try again in {math.ceil(wait)} s",
            retry_after=max(1, math.ceil(wait)),
        )


def address_failed(request: Req) -> None:
    """Count a failed sign-in (or share password) from the client's address."""
    login_throttle(request).take(client_address(request) or "?", 1)
