"""The app pages, for members (``/apps/NAME/PAGE``) and share links
(``/share/TOKEN/PAGE``). Each page has ``.json`` and ``.csv`` twins
(``/apps/NAME/trends.json``). Access: a member sees the apps of their account (any
other app is "not found", name included); a share link sees its app's pages only.
Changes (flags, experiments) need the editor role and a CSRF token."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, PathParameter
from litestar.response import Redirect

from eventkit.accounts.access import PAGES, Principal
from eventkit.accounts.shares import ShareInfo, resolve_share, share_principal
from eventkit.accounts.signins import principal_for
from eventkit.errors import AuthError, NotFoundError
from eventkit.storage.apps import AppInfo, list_apps
from eventkit.web import pages_flags, pages_people, pages_reports
from eventkit.web.auth import (
    SHARE_COOKIE,
    base_path,
    check_csrf,
    engine_of,
    pre_token,
    require_member,
    settings_of,
)
from eventkit.web.render import html, page_response
from eventkit.web.view import Page, View

__all__ = ["ROUTES", "build_view", "visible_apps"]

Req = Request[Any, Any, Any]
Path = Annotated[str, PathParameter()]
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]

VIEWS: dict[str, Callable[[View], Page]] = {
    "overview": pages_reports.overview,
    "trends": pages_reports.trends,
    "funnels": pages_reports.funnels,
    "retention": pages_reports.retention,
    "sessions": pages_people.sessions,
    "live": pages_people.live,
    "users": pages_people.users,
    "flags": pages_flags.flags,
    "experiments": pages_flags.experiments,
}
DETAILS: dict[str, Callable[[View, str], Page]] = {
    "sessions": pages_people.session,
    "flags": pages_flags.flag,
    "experiments": pages_flags.experiment,
}


def split_format(name: str) -> tuple[str, str]:
    """``trends.json`` -> (``trends``, ``json``); ``?format=`` is read by the caller."""
    for fmt in ("json", "csv"):
        if name.endswith(f".{fmt}"):
            return name[: -len(fmt) - 1], fmt
    return name, "html"


def visible_apps(request: Req, principal: Principal) -> list[AppInfo]:
    """The apps ``principal`` may see (the app switcher); no other app is ever named."""
    return [a for a in list_apps(engine_of(request)) if principal.sees_app(a.id)]


def _not_found(what: str) -> NotFoundError:
    return NotFoundError(f"no {what} here; the menu lists what you can open")


def build_view(
    request: Req, principal: Principal, app_name: str | None, page: str, prefix: str
) -> View:
    """The View of ``page`` of a visible app (404 for anything else)."""
    apps = visible_apps(request, principal)
    app = next((a for a in apps if app_name is None or a.name == app_name), None)
    if app is None or page not in PAGES or not principal.sees_page(page):
        raise _not_found("such app or page")
    base = base_path(request)
    return View(
        engine=engine_of(request),
        settings=settings_of(request),
        principal=principal,
        app=app,
        apps=apps,
        page=page,
        query=request.query_params.dict(),
        base=f"{base}{prefix}",
    )


def _render(request: Req, v: View, name: str, item: str | None = None) -> Response[Any]:
    _, fmt = split_format(name)
    fmt = request.query_params.get("format") or fmt
    if item is not None:
        item, fmt_item = split_format(item)
        fmt = fmt_item if fmt_item != "html" else fmt
        detail = DETAILS.get(v.page)
        if detail is None:
            raise _not_found("such page")
        page = detail(v, item)
    else:
        page = VIEWS[v.page](v)
    return page_response(request, page, fmt, v=v)


@get("/", sync_to_thread=True, include_in_schema=False)
def home(request: Req) -> Response[Any]:
    """The first visible app's overview (or the sign-in page)."""
    principal = require_member(request)
    apps = visible_apps(request, principal)
    if not apps:
        return html(request, "no_apps.html", title="No apps")
    return Redirect(f"{base_path(request)}/apps/{apps[0].name}/overview", status_code=303)


def _paths(prefix: str, names: tuple[str, ...] | list[str], tail: str = "") -> list[str]:
    """Explicit paths (static segments never shadow each other in the router)."""
    return [f"{prefix}/{n}{tail}{x}" for n in names for x in ("", ".json", ".csv")]


def _last(request: Req) -> str:
    return request.url.path.rstrip("/").rsplit("/", 1)[-1]


# Handlers with several paths are async and run their work in a thread themselves:
# Litestar wraps a sync_to_thread handler once per path, which breaks with several.


@get(_paths("/apps/{app_name:str}", PAGES), include_in_schema=False)
async def app_page(request: Req, app_name: Path) -> Response[Any]:
    """A page of an app, or its ``.json``/``.csv`` twin (viewer and up)."""
    return await asyncio.to_thread(_app_page, request, app_name)


def _app_page(request: Req, app_name: str) -> Response[Any]:
    principal = require_member(request)
    page = _last(request)
    v = build_view(request, principal, app_name, split_format(page)[0], f"/apps/{app_name}")
    return _render(request, v, page)


@get(
    [f"/apps/{{app_name:str}}/{p}/{{item:str}}" for p in DETAILS],
    include_in_schema=False,
)
async def app_detail(request: Req, app_name: Path, item: Path) -> Response[Any]:
    """A session, flag or experiment of an app (viewer and up)."""
    return await asyncio.to_thread(_app_detail, request, app_name, item)


def _app_detail(request: Req, app_name: str, item: str) -> Response[Any]:
    principal = require_member(request)
    page = request.url.path.rstrip("/").rsplit("/", 2)[-2]
    v = build_view(request, principal, app_name, page, f"/apps/{app_name}")
    return _render(request, v, page, item)


@post(
    "/apps/{app_name:str}/flags/{key:str}/change",
    sync_to_thread=True,
    include_in_schema=False,
    status_code=200,
)
def flag_change(request: Req, app_name: Path, key: Path, data: Form) -> Response[Any]:
    """Preview a flag change, then (with ``confirmed=1``) make it (editor and up)."""
    principal = require_member(request)
    check_csrf(request, data)
    v = build_view(request, principal, app_name, "flags", f"/apps/{app_name}")
    action, value = str(data.get("action", "")), str(data.get("value", ""))
    if not principal.can("edit"):
        pages_flags.apply_flag_change(v, key, action, value)  # raises: editors only
    if str(data.get("confirmed", "")) != "1":
        preview = pages_flags.flag_change_preview(v, key, action, value)
        return html(request, "flag_confirm.html", title=f"Change {key}?", v=v, change=preview)
    pages_flags.apply_flag_change(v, key, action, value)
    return Redirect(f"{v.base}/flags/{key}", status_code=303)


@post(
    "/apps/{app_name:str}/experiments/{key:str}/change",
    sync_to_thread=True,
    include_in_schema=False,
    status_code=200,
)
def experiment_change(request: Req, app_name: Path, key: Path, data: Form) -> Response[Any]:
    """Start, stop or ship an experiment (editor and up)."""
    principal = require_member(request)
    check_csrf(request, data)
    v = build_view(request, principal, app_name, "experiments", f"/apps/{app_name}")
    pages_flags.apply_experiment_change(
        v, key, str(data.get("action", "")), str(data.get("variant", ""))
    )
    return Redirect(f"{v.base}/experiments/{key}", status_code=303)


# -- share links ---------------------------------------------------------------------


def _share(request: Req, token: str) -> tuple[ShareInfo, Principal]:
    """The link of ``token`` and its principal; a password-protected link needs its
    unlock cookie. Raises NotFoundError (unknown, revoked, expired) or AuthError."""
    request.scope["ek_share"] = token  # type: ignore[typeddict-unknown-key]
    engine = engine_of(request)
    info = resolve_share(engine, token)
    if info is None:
        raise NotFoundError("this share link is unknown, revoked or expired; ask for a new one")
    if info.has_password:
        unlocked = request.cookies.get(SHARE_COOKIE)
        idle = settings_of(request).web.idle_hours * 3600
        p = principal_for(engine, unlocked, idle_seconds=idle) if unlocked else None
        if p is None or p.share_id != info.id:
            raise AuthError("this share link needs its password")
        return info, p
    return info, share_principal(info)


def _share_page(request: Req, token: str, page: str) -> Response[Any]:
    try:
        info, principal = _share(request, token)
    except AuthError:
        if split_format(page)[1] != "html":
            raise
        return html(
            request,
            "share_unlock.html",
            csrf_basis=pre_token(request),
            status=401,
            title="Password needed",
            token=token,
            principal=None,
        )
    v = build_view(request, principal, info.app_name, split_format(page)[0], f"/share/{token}")
    return _render(request, v, page)


@get("/share/{token:str}", sync_to_thread=True, include_in_schema=False)
def share_home(request: Req, token: Path) -> Response[Any]:
    """A share link opens its first page with the query it was created with."""
    try:
        info, _ = _share(request, token)
    except AuthError:
        return _share_page(request, token, "overview")
    query = f"?{info.query}" if info.query else ""
    return Redirect(f"{base_path(request)}/share/{token}/{info.pages[0]}{query}", status_code=303)


@get(_paths("/share/{token:str}", PAGES), include_in_schema=False)
async def share_page(request: Req, token: Path) -> Response[Any]:
    """A page of a share link, or its twin (anyone holding the link)."""
    return await asyncio.to_thread(_share_page, request, token, _last(request))


ROUTES = [home, app_page, app_detail, flag_change, experiment_change, share_home, share_page]
