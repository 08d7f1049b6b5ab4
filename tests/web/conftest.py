"""Web dashboard fixtures: the deterministic demo database (built once per test
process) with a second app, members of every role, share links, and a Litestar test
client on the real app (``create_app``) per module. Sign-ins are made with the domain's
``start_signin`` (the sign-in form itself is tested in test_security.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from sqlalchemy.engine import Engine

from eventkit.accounts.members import add_member, get_member
from eventkit.accounts.shares import create_share
from eventkit.accounts.signins import start_signin
from eventkit.api.app import create_app
from eventkit.config import Settings
from eventkit.storage.apps import create_app as create_app_row
from eventkit.storage.engine import make_engine
from tests.conftest import make_settings
from tests.tui.dataset import build_demo_db, copy_db

#: The demo's absolute range (its end is fixed), as the URLs and the CLI take it.
SINCE, UNTIL = "2026-06-16", "2026-06-30T12:00:00Z"
RANGE = f"since={SINCE}&until={UNTIL}"
OTHER = "zzother"
PRINCIPALS = ("signed_out", "viewer", "editor", "admin", "share", "other_app")


@pytest.fixture(scope="session")
def web_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database plus a second app, built once per test process."""
    path = tmp_path_factory.mktemp("web-demo") / "demo.db"
    settings = make_settings(f"sqlite:///{path}")
    build_demo_db(settings)
    engine = make_engine(settings)
    create_app_row(engine, OTHER, "an app the demo members must not see")
    engine.dispose()
    return path


@dataclass
class Site:
    """The module's app, its database, and a signed-in cookie per principal."""

    client: TestClient[Any]
    engine: Engine
    settings: Settings
    cookies: dict[str, dict[str, str]] = field(default_factory=dict)
    share_token: str = ""
    locked_token: str = ""
    locked_password: str = ""

    def as_(self, who: str) -> TestClient[Any]:
        """The client with ``who``'s cookies only."""
        self.client.cookies.clear()
        for name, value in self.cookies.get(who, {}).items():
            self.client.cookies.set(name, value)
        return self.client

    def csrf(self, who: str, path: str = "/account") -> str:
        """The CSRF token ``who``'s pages carry (read from a page, as a browser does)."""
        html = self.as_(who).get(path).text
        found = re.search(r'name="csrf" value="([^"]*)"', html)
        assert found, html[:500]
        token = found.group(1)
        for cookie in self.client.cookies.jar:  # a pre-session cookie the page set
            self.cookies.setdefault(who, {})[cookie.name] = cookie.value or ""
        return token


def _signin(engine: Engine, name: str) -> dict[str, str]:
    token = start_signin(engine, member_id=get_member(engine, name).id, lifetime_seconds=3600)
    return {"eventkit_session": token}


def make_site(
    tmp: Path, template: Path, base_url: str = "http://testserver.local", **env: str
) -> Iterator[Site]:
    """A site on a private copy of the demo database."""
    target = tmp / "eventkit.db"
    copy_db(template, target)
    settings = make_settings(
        f"sqlite:///{target}", SCHEDULER__ENABLED="false", INGEST__WRITER="thread", **env
    )
    engine = make_engine(settings)
    add_member(engine, "vera", "viewer", ["demo"], actor="test")
    add_member(engine, "eddie", "editor", ["demo"], actor="test")
    add_member(engine, "ada", "admin", None, actor="test")
    add_member(engine, "otto", "viewer", [OTHER], actor="test")
    share = create_share(engine, "demo", ["overview", "funnels"], actor="test")
    locked = create_share(engine, "demo", ["overview"], actor="test", password=True)
    with TestClient(app=create_app(settings), base_url=base_url) as client:
        client.follow_redirects = False
        site = Site(
            client,
            engine,
            settings,
            share_token=share.token,
            locked_token=locked.token,
            locked_password=locked.password or "",
        )
        site.cookies = {
            "signed_out": {},
            "share": {},
            "viewer": _signin(engine, "vera"),
            "editor": _signin(engine, "eddie"),
            "admin": _signin(engine, "ada"),
            "other_app": _signin(engine, "otto"),
        }
        yield site
    engine.dispose()


@pytest.fixture(scope="module")
def site(web_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One site per test module."""
    yield from make_site(tmp_path_factory.mktemp("web"), web_template)


def no_redirects(response: httpx.Response) -> int:
    """The status as the server sent it."""
    return response.status_code
