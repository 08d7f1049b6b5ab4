"""``eventkit members`` and ``eventkit share``: links and passwords printed once, only
hashes stored, clear errors."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from eventkit.accounts.members import authenticate, redeem_invite
from eventkit.accounts.shares import resolve_share
from eventkit.storage.apps import create_app
from eventkit.storage.engine import make_engine
from eventkit.storage.models import MEMBERS, SHARE_LINKS
from tests.cli.conftest import Invoke
from tests.conftest import make_settings


def test_members_add_list_set_reset_remove(cli: Invoke, db_url: str) -> None:
    env = {"EVENTKIT_DATABASE_URL": db_url, "COLUMNS": "250"}
    engine = make_engine(make_settings(db_url))
    create_app(engine, "shop")
    r = cli("members", "add", "alice", "--role", "admin", env=env)
    assert r.exit_code == 0, r.output
    link = re.search(r"http://localhost:8000/welcome/(\S+)", r.output)
    assert link, r.output
    assert "one-time sign-in link" in r.output
    with engine.connect() as conn:
        assert link.group(1) not in str(conn.execute(select(MEMBERS)).all())
    redeem_invite(engine, link.group(1), "correct horse battery")
    r = cli("members", "add", "bob", "--role", "viewer", "--app", "shop", "--password", env=env)
    assert r.exit_code == 0 and "password (shown once)" in r.output
    password = re.search(r"password \(shown once\): (\S+)", r.output)
    assert password and authenticate(engine, "bob", password.group(1)).app_names == ("shop",)
    r = cli("members", "list", "--format", "json", env=env)
    names = [m["name"] for m in json.loads(r.stdout)]
    assert names == ["alice", "bob"]
    r = cli("members", "set", "bob", "--role", "editor", "--format", "json", env=env)
    assert '"role": "editor"' in r.stdout
    r = cli("members", "add", "bob", env=env)
    assert r.exit_code == 1 and "exists" in r.output
    r = cli("members", "add", "carl", "--app", "nope", env=env)
    assert r.exit_code == 1 and "no app 'nope'" in r.output
    r = cli("members", "reset", "bob", env=env)
    assert r.exit_code == 0 and "/welcome/" in r.output
    r = cli("members", "remove", "bob", env=env)
    assert r.exit_code == 0 and "removed member bob" in r.output
    r = cli("members", "remove", "bob", env=env)
    assert r.exit_code == 1 and "no member 'bob'" in r.output
    engine.dispose()


def test_share_create_list_revoke(cli: Invoke, db_url: str) -> None:
    env = {"EVENTKIT_DATABASE_URL": db_url, "COLUMNS": "250"}
    engine = make_engine(make_settings(db_url))
    create_app(engine, "shop")
    r = cli(
        "share",
        "create",
        "--app",
        "shop",
        "--page",
        "overview",
        "--page",
        "funnels",
        "--expires",
        "30d",
        "--password",
        "--query",
        "since=90d",
        env=env,
    )
    assert r.exit_code == 0, r.output
    token = re.search(r"/share/(\S+)", r.output)
    assert token and "password (shown once)" in r.output
    with engine.connect() as conn:
        assert token.group(1) not in str(conn.execute(select(SHARE_LINKS)).all())
    info = resolve_share(engine, token.group(1))
    assert info is not None and info.pages == ("overview", "funnels") and info.query == "since=90d"
    r = cli("share", "create", "--app", "shop", "--page", "users", env=env)
    assert r.exit_code == 1 and "shows people or raw events" in r.output
    r = cli("share", "list", "--format", "json", env=env)
    assert '"prefix"' in r.stdout and token.group(1) not in r.stdout
    r = cli("share", "revoke", str(info.id), env=env)
    assert r.exit_code == 0 and "revoked" in r.output
    assert resolve_share(engine, token.group(1)) is None
    engine.dispose()
