"""Signing in and out: the sign-in page, one-time sign-in links (choose a password),
the account page (password change, sign out everywhere), and share-link passwords."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, PathParameter
from litestar.response import Redirect

from eventkit.accounts.members import (
    authenticate,
    change_password,
    invited_member,
    redeem_invite,
)
from eventkit.accounts.passwords import verify_password
from eventkit.accounts.shares import resolve_share
from eventkit.accounts.signins import end_signin, list_signins, revoke_signins, start_signin
from eventkit.api.limits import client_address
from eventkit.errors import AuthError, EventKitError, InvalidRequestError, NotFoundError
from eventkit.web.auth import (
    PRE_COOKIE,
    SESSION_COOKIE,
    SHARE_COOKIE,
    address_failed,
    base_path,
    check_address,
    check_csrf,
    cookie,
    engine_of,
    member_of,
    pre_token,
    require_member,
    settings_of,
)
from eventkit.web.render import html

__all__ = ["ACCOUNT_ROUTES"]

Req = Request[Any, Any, Any]
Path = Annotated[str, PathParameter()]
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _next(request: Req, target: str | None) -> str:
    """Where to go after signing in: a path of the dashboard only (no open redirect)."""
    base = base_path(request)
    local = bool(target) and str(target).startswith(f"{base}/") and not str(target).startswith("//")
    if target and local and "\\" not in target and "://" not in target:
        return target
    return f"{base}/"


def _signed_in(request: Req, member_id: int, target: str) -> Response[Any]:
    """Start a fresh sign-in (a new token: a planted session id is never promoted)."""
    web = settings_of(request).web
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        end_signin(engine_of(request), old)
    token = start_signin(
        engine_of(request),
        member_id=member_id,
        lifetime_seconds=web.session_hours * 3600,
        address=client_address(request) or "",
        user_agent=request.headers.get("user-agent", ""),
    )
    response: Response[Any] = Redirect(_next(request, target), status_code=303)
    response.set_cookie(
        cookie(request, SESSION_COOKIE, token, max_age=int(web.session_hours * 3600))
    )
    return response


@get("/login", sync_to_thread=True, include_in_schema=False)
def login_page(request: Req) -> Response[Any]:
    """The sign-in form."""
    target = request.query_params.get("next")
    if member_of(request) is not None:
        return Redirect(_next(request, target), status_code=303)
    return html(
        request,
        "login.html",
        title="Sign in",
        next=target or "",
        principal=None,
        csrf_basis=pre_token(request),
    )


@post("/login", sync_to_thread=True, include_in_schema=False, status_code=200)
def login(request: Req, data: Form) -> Response[Any]:
    """Check a name and password; on success a new sign-in and its cookie."""
    pre = request.cookies.get(PRE_COOKIE)
    check_csrf(request, data, basis=pre or "")
    check_address(request)
    name, password = str(data.get("name", "")).strip(), str(data.get("password", ""))
    web = settings_of(request).web
    try:
        info = authenticate(
            engine_of(request), name, password, max_failures=web.login_failures_per_account
        )
    except AuthError as exc:
        address_failed(request)
        return html(
            request,
            "login.html",
            status=exc.status_code,
            title="Sign in",
            error=exc.message,
            name=name,
            next=str(data.get("next", "")),
            principal=None,
            csrf_basis=pre_token(request),
        )
    return _signed_in(request, info.id, str(data.get("next", "")))


@post("/logout", sync_to_thread=True, include_in_schema=False, status_code=200)
def logout(request: Req, data: Form) -> Response[Any]:
    """Sign out this browser."""
    check_csrf(request, data)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        end_signin(engine_of(request), token)
    response: Response[Any] = Redirect(f"{base_path(request)}/login", status_code=303)
    response.set_cookie(cookie(request, SESSION_COOKIE, ""))
    return response


@get("/welcome/{token:str}", sync_to_thread=True, include_in_schema=False)
def welcome_page(request: Req, token: Path) -> Response[Any]:
    """A one-time sign-in link: choose a password."""
    try:
        info = invited_member(engine_of(request), token)
    except NotFoundError as exc:
        return html(request, "error.html", status=404, title="Link used", error=exc, principal=None)
    return html(
        request,
        "welcome.html",
        title="Welcome",
        member=info,
        token=token,
        principal=None,
        csrf_basis=pre_token(request),
    )


@post("/welcome/{token:str}", sync_to_thread=True, include_in_schema=False, status_code=200)
def welcome(request: Req, token: Path, data: Form) -> Response[Any]:
    """Set the password of a one-time link and sign in."""
    pre = request.cookies.get(PRE_COOKIE)
    check_csrf(request, data, basis=pre or "")
    check_address(request)
    password = str(data.get("password", ""))
    if password != str(data.get("confirm", "")):
        info = invited_member(engine_of(request), token)
        return html(
            request,
            "welcome.html",
            status=400,
            title="Welcome",
            member=info,
            token=token,
            error="the two passwords differ",
            principal=None,
            csrf_basis=pre_token(request),
        )
    try:
        info = redeem_invite(engine_of(request), token, password)
    except NotFoundError:
        address_failed(request)
        raise
    except EventKitError as exc:
        member = invited_member(engine_of(request), token)
        return html(
            request,
            "welcome.html",
            status=exc.status_code,
            title="Welcome",
            member=member,
            token=token,
            error=exc.message,
            principal=None,
            csrf_basis=pre_token(request),
        )
    return _signed_in(request, info.id, "")


@get("/account", sync_to_thread=True, include_in_schema=False)
def account_page(request: Req) -> Response[Any]:
    """Your sign-ins and the password form."""
    principal = require_member(request)
    signins = list_signins(engine_of(request), principal.member_id) if principal.member_id else []
    return html(
        request,
        "account.html",
        title="Account",
        signins=signins,
        current=principal.session_hash,
        message=request.query_params.get("done"),
    )


@post("/account/password", sync_to_thread=True, include_in_schema=False, status_code=200)
def account_password(request: Req, data: Form) -> Response[Any]:
    """Change your password; your other sign-ins end."""
    principal = require_member(request)
    check_csrf(request, data)
    if principal.member_id is None:
        raise AuthError("proxy sign-ins have no password here")
    if str(data.get("new", "")) != str(data.get("confirm", "")):
        raise InvalidRequestError("the two new passwords differ")
    change_password(
        engine_of(request),
        principal.member_id,
        str(data.get("old", "")),
        str(data.get("new", "")),
        keep_session=principal.session_hash,
    )
    return Redirect(f"{base_path(request)}/account?done=password", status_code=303)


@post("/account/signout-all", sync_to_thread=True, include_in_schema=False, status_code=200)
def signout_all(request: Req, data: Form) -> Response[Any]:
    """End every other sign-in of yours."""
    principal = require_member(request)
    check_csrf(request, data)
    if principal.member_id is not None:
        revoke_signins(engine_of(request), principal.member_id, keep=principal.session_hash)
    return Redirect(f"{base_path(request)}/account?done=signout", status_code=303)


@post("/share/{token:str}/unlock", sync_to_thread=True, include_in_schema=False, status_code=200)
def share_unlock(request: Req, token: Path, data: Form) -> Response[Any]:
    """Unlock a password-protected share link in this browser."""
    request.scope["ek_share"] = token  # type: ignore[typeddict-unknown-key]
    check_csrf(request, data, basis=request.cookies.get(PRE_COOKIE) or "")
    check_address(request)
    engine = engine_of(request)
    info = resolve_share(engine, token)
    if info is None:
        raise NotFoundError("this share link is unknown, revoked or expired; ask for a new one")
    if not verify_password(str(data.get("password", "")), info.password_hash):
        address_failed(request)
        return html(
            request,
            "share_unlock.html",
            csrf_basis=pre_token(request),
            status=401,
            title="Password needed",
            token=token,
            error="wrong password",
            principal=None,
        )
    web = settings_of(request).web
    signin = start_signin(
        engine,
        share_id=info.id,
        lifetime_seconds=web.session_hours * 3600,
        address=client_address(request) or "",
    )
    base = base_path(request)
    response: Response[Any] = Redirect(f"{base}/share/{token}", status_code=303)
    response.set_cookie(
        cookie(
            request,
            SHARE_COOKIE,
            signin,
            path=f"{base}/share/{token}",
            max_age=int(web.session_hours * 3600),
        )
    )
    return response


ACCOUNT_ROUTES = [
    login_page,
    login,
    logout,
    welcome_page,
    welcome,
    account_page,
    account_password,
    signout_all,
    share_unlock,
]
