"""Admin pages: members (every-app admins only, since a member list names people of
every app), share links and keys (of the apps the admin may see). Keys are shown once,
right after a rotation, and never again."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from eventkit.accounts.access import ROLES, SHAREABLE_PAGES, Principal
from eventkit.accounts.members import add_member, list_members, remove_member, reset_member
from eventkit.accounts.shares import create_share, list_shares, revoke_share
from eventkit.errors import InvalidRequestError, NotFoundError, PermissionDeniedError
from eventkit.reports.params import parse_span
from eventkit.storage.apps import rotate_key
from eventkit.web.auth import base_path, check_csrf, engine_of, require_member, settings_of
from eventkit.web.render import html
from eventkit.web.routes import visible_apps

__all__ = ["ADMIN_ROUTES"]

Req = Request[Any, Any, Any]
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _admin(request: Req, *, every_app: bool = False) -> Principal:
    principal = require_member(request)
    if not principal.can("admin"):
        raise PermissionDeniedError("this page is for admins")
    if every_app and principal.app_ids is not None:
        raise PermissionDeniedError("managing members needs an admin of every app")
    return principal


def _link(request: Req, path: str) -> str:
    return f"{settings_of(request).url}{base_path(request)}{path}"


@get("/admin/members", sync_to_thread=True, include_in_schema=False)
def members_page(request: Req) -> Response[Any]:
    """Members, their roles and apps (admins of every app)."""
    principal = _admin(request, every_app=True)
    return html(
        request,
        "members.html",
        title="Members",
        members=list_members(engine_of(request)),
        apps=visible_apps(request, principal),
        roles=ROLES,
    )


@post("/admin/members", sync_to_thread=True, include_in_schema=False, status_code=200)
def members_change(request: Req, data: Form) -> Response[Any]:
    """Add, reset or remove a member; a new sign-in link is shown once."""
    principal = _admin(request, every_app=True)
    check_csrf(request, data)
    engine, web = engine_of(request), settings_of(request).web
    action, name = str(data.get("action", "")), str(data.get("name", "")).strip()
    if name == principal.name and action in ("remove", "reset"):
        raise InvalidRequestError("you cannot remove or reset yourself here; use the CLI")
    if action == "remove":
        remove_member(engine, name)
        return Redirect(f"{base_path(request)}/admin/members", status_code=303)
    if action == "add":
        apps = data.get("apps") or []
        apps = [apps] if isinstance(apps, str) else list(apps)
        invite = add_member(
            engine,
            name,
            str(data.get("role", "viewer")),
            apps,
            actor=principal.actor,
            invite_hours=web.invite_hours,
        )
    elif action == "reset":
        invite = reset_member(engine, name, invite_hours=web.invite_hours)
    else:
        raise InvalidRequestError("action must be add, reset or remove")
    return html(
        request,
        "members.html",
        title="Members",
        members=list_members(engine),
        apps=visible_apps(request, principal),
        roles=ROLES,
        invite=invite,
        invite_url=_link(request, f"/welcome/{invite.token}"),
    )


@get("/admin/shares", sync_to_thread=True, include_in_schema=False)
def shares_page(request: Req) -> Response[Any]:
    """Share links of the apps the admin sees."""
    principal = _admin(request)
    apps = visible_apps(request, principal)
    links = list_shares(engine_of(request), app_ids=frozenset(a.id for a in apps))
    return html(
        request,
        "shares.html",
        title="Share links",
        shares=links,
        apps=apps,
        pages=SHAREABLE_PAGES,
        prefill=request.query_params.dict(),
    )


@post("/admin/shares", sync_to_thread=True, include_in_schema=False, status_code=200)
def shares_change(request: Req, data: Form) -> Response[Any]:
    """Create a share link (shown once) or revoke one."""
    principal = _admin(request)
    check_csrf(request, data)
    engine = engine_of(request)
    apps = visible_apps(request, principal)
    ids = frozenset(a.id for a in apps)
    if data.get("action") == "revoke":
        revoke_share(engine, str(data.get("id", "")), app_ids=ids)
        return Redirect(f"{base_path(request)}/admin/shares", status_code=303)
    app_name = str(data.get("app", ""))
    if app_name not in {a.name for a in apps}:
        raise NotFoundError("no such app here")
    pages = data.get("pages") or []
    pages = [pages] if isinstance(pages, str) else list(pages)
    expires = str(data.get("expires", "")).strip()
    new = create_share(
        engine,
        app_name,
        pages,
        actor=principal.actor,
        expires_seconds=parse_span(expires) if expires else None,
        password=str(data.get("password", "")) == "1",
        query=str(data.get("query", "")),
        label=str(data.get("label", "")),
    )
    links = list_shares(engine, app_ids=ids)
    return html(
        request,
        "shares.html",
        title="Share links",
        shares=links,
        apps=apps,
        pages=SHAREABLE_PAGES,
        new=new,
        prefill={},
        new_url=_link(request, f"/share/{new.token}"),
    )


@get("/admin/keys", sync_to_thread=True, include_in_schema=False)
def keys_page(request: Req) -> Response[Any]:
    """The key prefixes of the apps the admin sees (keys are stored hashed)."""
    principal = _admin(request)
    return html(request, "keys.html", title="Keys", apps=visible_apps(request, principal))


@post("/admin/keys", sync_to_thread=True, include_in_schema=False, status_code=200)
def keys_rotate(request: Req, data: Form) -> Response[Any]:
    """Rotate an app's write or secret key; the new key is shown once."""
    principal = _admin(request)
    check_csrf(request, data)
    apps = visible_apps(request, principal)
    app_name, kind = str(data.get("app", "")), str(data.get("kind", ""))
    if app_name not in {a.name for a in apps}:
        raise NotFoundError("no such app here")
    if kind not in ("write", "secret"):
        raise InvalidRequestError("kind must be write or secret")
    keys = rotate_key(
        engine_of(request),
        app_name,
        kind,  # type: ignore[arg-type]
        keep_old=str(data.get("keep_old", "")) == "1",
    )
    return html(
        request, "keys.html", title="Keys", apps=visible_apps(request, principal), rotated=keys
    )


ADMIN_ROUTES = [members_page, members_change, shares_page, shares_change, keys_page, keys_rotate]
