"""Every route x every credential (docs/security.md, "The scope of every endpoint"):
tokens of each scope, the app's secret and write keys, no credential, another app's
admin token, an expired and a revoked token. A credential with the route's scope gets
in; any other is refused with 401 or 403 and learns nothing.

The routes are enumerated from the running app, and each must be in :data:`SCOPE_OF`:
a new endpoint fails this test until its scope is decided (and documented).
"""

from __future__ import annotations

import json
import re

from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.storage.apps import create_app as create_tracked_app
from eventkit.timeutil import now_us
from eventkit.tokens import create_token, revoke_token
from eventkit.tokens.scopes import TOKEN_SCOPES, grants
from tests.api.test_security import PUBLIC, SECRET, call, routes, seed_app_a
from tests.conftest import make_settings
from tests.inprocess import api_client, bearer

#: The scope each route needs (docs/security.md). Vendor ingestion paths capture.
SCOPE_OF: dict[tuple[str, str], str] = {
    ("POST", "/v1/events"): "capture",
    ("POST", "/v1/identify"): "capture",
    ("POST", "/v1/flags/evaluate"): "capture",
    ("POST", "/ofrep/v1/evaluate/flags/{key}"): "capture",
    ("POST", "/ofrep/v1/evaluate/flags"): "capture",
    ("GET", "/ofrep/v1/configuration"): "capture",
    ("GET", "/v1/events"): "events:read",
    ("GET", "/v1/sessions"): "events:read",
    ("GET", "/v1/sessions/{session_id}"): "events:read",
    ("GET", "/v1/sessions/stats"): "reports:read",
    ("GET", "/v1/reports/{name}"): "reports:read",
    ("POST", "/v1/query"): "query:read",
    ("GET", "/v1/flags"): "flags:read",
    ("GET", "/v1/flags/{key}"): "flags:read",
    ("GET", "/v1/flags/{key}/history"): "flags:read",
    ("GET", "/v1/flags/definitions"): "flags:read",
    ("PUT", "/v1/flags/{key}"): "flags:write",
    ("GET", "/posthog/flags/definitions"): "flags:read",
    ("GET", "/posthog/api/feature_flag/local_evaluation"): "flags:read",
    ("GET", "/v1/tracking-plan"): "admin",
    ("PUT", "/v1/tracking-plan"): "admin",
    ("GET", "/v1/tracking-plan/violations"): "admin",
    ("DELETE", "/v1/users/{user_id}"): "admin",
    ("GET", "/v1/users/{user_id}/export"): "admin",
    ("GET", "/v1/alerts"): "admin",
    ("POST", "/v1/alerts"): "admin",
    ("GET", "/v1/alerts/deliveries"): "admin",
    ("DELETE", "/v1/alerts/{name}"): "admin",
    ("GET", "/v1/alerts/{name}"): "admin",
    ("GET", "/v1/alerts/{name}/history"): "admin",
    ("POST", "/v1/alerts/{name}/pause"): "admin",
    ("POST", "/v1/alerts/{name}/resume"): "admin",
    ("POST", "/v1/alerts/{name}/test"): "admin",
    ("GET", "/v1/annotations"): "admin",
    ("POST", "/v1/annotations"): "admin",
}
VENDORS = ("/segment/", "/posthog/", "/amplitude/", "/mixpanel/")
#: Segment's settings endpoint takes the write key in its path (SDKs fetch it at start).
KEY_IN_PATH = {("GET", "/segment/v1/projects/{write_key}/settings")}


def scope_of(method: str, path: str) -> str:
    if (method, path) in SCOPE_OF:
        return SCOPE_OF[(method, path)]
    assert path.startswith(VENDORS), f"{method} {path}: add its scope to SCOPE_OF and docs"
    return "capture"


def may(cred: str, scope: str) -> bool:
    """Whether credential ``cred`` (a label below) may call a route needing ``scope``."""
    if cred == "secret":
        return True
    if cred == "write":
        return scope == "capture"
    if cred.startswith("token:"):
        return grants([cred[6:]], scope)
    return False


async def test_every_route_with_every_credential(database_url: str, engine: Engine) -> None:
    settings = make_settings(database_url, RATE_LIMITS__AUTH_FAILURES_PER_MINUTE="0")
    a = create_tracked_app(engine, "app-a")
    create_tracked_app(engine, "app-b")
    assert a.write_key and a.secret_key
    creds: dict[str, str | None] = {"secret": a.secret_key, "write": a.write_key, "none": None}
    for s in TOKEN_SCOPES:
        creds[f"token:{s}"] = create_token(engine, "app-a", s.replace(":", "-"), s).token
    other = create_token(engine, "app-b", "b-admin", "admin").token
    expired = create_token(engine, "app-a", "old", "admin", expires="1d").token
    with engine.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET expires_at = :t WHERE name = 'old'"),
                     {"t": now_us() - 1})  # fmt: skip
    revoked = create_token(engine, "app-a", "gone", "admin").token
    revoke_token(engine, "app-a", "gone")
    async with api_client(settings) as client:
        await seed_app_a(client, a.write_key, a.secret_key)
        checked = 0
        for method, path in routes(client):
            if path in PUBLIC or (method, path) in KEY_IN_PATH:
                continue
            scope = scope_of(method, path)
            checked += 1
            for label, cred in creds.items():
                status, body = await call(client, method, path, cred)
                assert status < 500, (method, path, label, status, body[:200])
                if may(label, scope):
                    assert status not in (401, 403), (method, path, label, status, body[:200])
                elif label == "none":
                    assert status in (400, 401), (method, path, label, status)
                elif path.startswith(VENDORS) and status == 400:
                    continue  # vendor bodies (which may carry the key) are read first
                else:
                    assert status == 403, (method, path, label, status, body[:200])
                    if not path.startswith(VENDORS):  # vendors answer in their own format
                        assert scope in body or "secret key" in body, (method, path, body[:200])
            for label, cred in (("expired", expired), ("revoked", revoked)):
                status, body = await call(client, method, path, cred)
                ok = status == 401 or (path.startswith(VENDORS) and status == 400)
                assert ok, (method, path, label, status, body[:200])
                assert SECRET not in body
            status, body = await call(client, method, path, other)
            assert status < 500 and SECRET not in body, (method, path, body[:300])
        assert checked >= 20


async def test_token_errors_say_what_to_do(database_url: str, engine: Engine) -> None:
    settings = make_settings(database_url)
    create_tracked_app(engine, "app-a")
    reader = create_token(engine, "app-a", "reader", "reports:read").token
    expired = create_token(engine, "app-a", "old", "admin", expires="1d").token
    with engine.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET expires_at = 1 WHERE name = 'old'"))
    async with api_client(settings) as client:
        r = await client.put("/v1/flags/x", json={}, headers=bearer(reader))
        assert r.status_code == 403
        assert "needs the flags:write scope" in r.json()["message"]
        r = await client.get("/v1/events", headers=bearer(expired))
        assert r.status_code == 401 and "expired" in r.json()["message"]
        r = await client.get("/v1/events", headers=bearer("ek_token_" + "x" * 43))
        assert r.status_code == 401 and "eventkit tokens list" in r.json()["message"]


async def test_flag_changes_by_token_are_audited_with_its_name(
    database_url: str, engine: Engine
) -> None:
    settings = make_settings(database_url)
    create_tracked_app(engine, "app-a")
    writer = create_token(engine, "app-a", "deployer", "flags:write").token
    flag = {"enabled": True, "default_variant": "on", "off_variant": "off",
            "variants": [{"key": "on", "value": True, "weight": 1},
                         {"key": "off", "value": False}]}  # fmt: skip
    async with api_client(settings) as client:
        r = await client.put("/v1/flags/beta", json=flag, headers=bearer(writer))
        assert r.status_code == 200, r.text
        r = await client.get("/v1/flags/beta/history", headers=bearer(writer))
        assert r.status_code == 200  # flags:write also reads
        assert json.loads(r.text)["history"][0]["actor"] == "token:deployer"
        r = await client.post("/v1/query", json={"sql": "SELECT 1"}, headers=bearer(writer))
        assert r.status_code == 403


def test_documented_table_matches() -> None:
    doc = (__import__("pathlib").Path(__file__).parents[2] / "docs" / "security.md").read_text()
    for (method, path), scope in SCOPE_OF.items():
        p = re.sub(r"\{\w+\}", lambda m: m.group(0), path)
        if path.startswith(("/posthog", "/ofrep")):
            continue
        assert p.split("/{")[0] in doc, (method, path)
        assert f"`{scope}`" in doc
