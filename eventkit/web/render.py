"""Presenting pages: Jinja templates (Litestar's engine) for HTML, and the ``.json``
and ``.csv`` twins as the exact text the CLI prints. Also the dashboard's one error
handler and its security headers."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect

from eventkit import __version__
from eventkit.errors import AuthError, EventKitError, OverloadedError, PermissionDeniedError
from eventkit.reports.export import csv_text, json_text
from eventkit.timeutil import from_us
from eventkit.web.auth import base_path, csrf_of, ensure_pre_cookie, member_of
from eventkit.web.charts import number
from eventkit.web.view import RANGES, Page

__all__ = ["HEADERS", "STATIC", "TEMPLATES", "error_response", "html", "page_response"]

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
Req = Request[Any, Any, Any]

#: Pages are private: scripts only from the dashboard itself, no framing, no referrer
#: (share links carry their token in the URL).
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _when(us: int | None, spec: str = "minutes") -> str:
    return "-" if us is None else from_us(us).isoformat(timespec=spec).replace("+00:00", "Z")


@lru_cache(maxsize=1)
def _asset_version() -> str:
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(STATIC.iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


@lru_cache(maxsize=1)
def templates() -> JinjaTemplateEngine:
    """The dashboard's template engine (autoescaping on)."""
    engine = JinjaTemplateEngine(directory=TEMPLATES)
    env = engine.engine
    env.trim_blocks = env.lstrip_blocks = True
    env.filters.update(num=number, when=_when, pct=lambda v: "-" if v is None else f"{v:g}%")
    env.globals.update(version=__version__, asset_version=_asset_version(), ranges=RANGES)
    return engine


def html(request: Req, template: str, status: int = 200, **ctx: Any) -> Response[str]:
    """Render ``template`` with the values every page uses."""
    base = base_path(request)
    principal = member_of(request) if "ek_share" not in request.scope else None
    values = {
        "base": base,
        "url": lambda path: f"{base}{path}",
        "principal": ctx.pop("principal", principal),
        "csrf": csrf_of(request, ctx.pop("csrf_basis", None)),
        "request_path": request.url.path,
        **ctx,
    }
    body = templates().get_template(template).render(**values)
    response = Response(body, status_code=status, media_type="text/html", headers=HEADERS)
    ensure_pre_cookie(request, response)
    return response


def page_response(request: Req, page: Page, fmt: str, **ctx: Any) -> Response[Any]:
    """A page as HTML, or its ``.json``/``.csv`` twin."""
    if fmt == "json":
        return Response(json_text(page.data), media_type="application/json", headers=HEADERS)
    if fmt == "csv":
        if page.rows is None:
            raise EventKitError("this page has no CSV form")
        name = quote(f"{page.template.removesuffix('.html')}.csv")
        return Response(
            csv_text(page.rows, page.columns),
            media_type="text/csv",
            headers={**HEADERS, "Content-Disposition": f"attachment; filename={name}"},
        )
    return html(request, page.template, title=page.title, **page.context, **ctx)


def _wants_json(request: Req) -> bool:
    path = request.url.path
    return path.endswith((".json", ".csv", "/stream")) or "application/json" in request.headers.get(
        "accept", ""
    )


def error_response(request: Req, exc: Exception) -> Response[Any]:
    """The dashboard's answer to any eventkit error: a sign-in redirect for HTML pages
    without a member, an HTML error page, or JSON for the twins."""
    if not isinstance(exc, EventKitError):
        exc = EventKitError("something went wrong on the server; the log has the details")
    status = exc.status_code
    signed_out = isinstance(exc, AuthError) and not isinstance(exc, PermissionDeniedError)
    page = not _wants_json(request) and request.method == "GET"
    if signed_out and page and "ek_share" not in request.scope:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return Redirect(f"{base_path(request)}/login?next={quote(target)}", status_code=303)
    headers = dict(HEADERS)
    if isinstance(exc, OverloadedError):
        headers["Retry-After"] = str(exc.retry_after)
    if _wants_json(request):
        return Response(
            {"error": exc.code, "message": exc.message}, status_code=status, headers=headers
        )
    response = html(request, "error.html", status=status, title="Error", error=exc)
    response.headers.update(headers)
    return response
