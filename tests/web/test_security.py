"""Sign-in and its defences: CSRF, brute force, session fixation, cookie flags,
revocation, share-link passwords, open redirects, security headers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from eventkit.accounts.members import add_member, redeem_invite, remove_member, reset_member
from tests.web.conftest import RANGE, Site, make_site

PW = "correct horse battery"


@pytest.fixture(scope="module")
def sec(web_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A site with low sign-in limits, so the brute-force tests are quick."""
    yield from make_site(
        tmp_path_factory.mktemp("websec"),
        web_template,
        WEB__LOGIN_FAILURES_PER_ACCOUNT="3",
        WEB__LOGIN_FAILURES_PER_MINUTE="6",
    )


def _member(site: Site, name: str) -> None:
    inv = add_member(site.engine, name, "viewer", None, actor="test")
    assert inv.token
    redeem_invite(site.engine, inv.token, PW)


def _login(client: TestClient[Any], name: str, password: str = PW, **extra: str) -> Any:
    page = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    form = {"csrf": csrf.group(1), "name": name, "password": password, "next": "", **extra}
    return client.post("/login", data=form)


def _use(client: TestClient[Any], token: str) -> None:
    client.cookies.clear()
    client.cookies.set("eventkit_session", token)


def _token(response: Any) -> str:
    return _set_cookie(response, "eventkit_session").split(";")[0].split("=", 1)[1]


def _set_cookie(response: Any, name: str) -> str:
    headers = [h for h in response.headers.get_list("set-cookie") if h.startswith(f"{name}=")]
    assert headers, response.headers
    return str(headers[0])


def test_sign_in_sets_a_new_session_and_flags_the_cookie(sec: Site) -> None:
    _member(sec, "sam")
    client = sec.as_("signed_out")
    planted = "attacker-chosen-session-id"
    client.cookies.set("eventkit_session", planted)
    r = _login(client, "sam")
    assert r.status_code == 303 and r.headers["location"] == "/"
    header = _set_cookie(r, "eventkit_session")
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/" in header
    assert "Secure" not in header  # plain HTTP here; see the https test
    token = header.split(";")[0].split("=", 1)[1]
    assert token != planted and len(token) >= 40
    _use(client, token)
    assert client.get(f"/apps/demo/overview?{RANGE}").status_code == 200
    # The planted id never became a session.
    _use(client, planted)
    assert client.get(f"/apps/demo/overview?{RANGE}").status_code == 303


def test_cookies_are_secure_under_https(web_template: Path, tmp_path: Path) -> None:
    for site in make_site(tmp_path, web_template, base_url="https://testserver.local"):
        _member(site, "tess")
        header = _set_cookie(_login(site.as_("signed_out"), "tess"), "eventkit_session")
        assert "Secure" in header and "HttpOnly" in header


def test_post_without_or_with_a_wrong_csrf_token_is_refused(sec: Site) -> None:
    client = sec.as_("editor")
    path = "/apps/demo/flags/new_checkout/change"
    for form in ({"action": "enable"}, {"action": "enable", "csrf": "0" * 64}):
        r = client.post(path, data=form)
        assert r.status_code == 403 and "security token" in r.text
    # Another user's token does not work either (it is bound to the sign-in).
    other = sec.csrf("viewer")
    assert sec.as_("editor").post(path, data={"action": "enable", "csrf": other}).status_code == 403
    good = sec.csrf("editor")
    assert sec.as_("editor").post(path, data={"action": "enable", "csrf": good}).status_code == 200
    cross = sec.as_("editor").post(
        path, data={"action": "enable", "csrf": good}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403
    # The sign-in form needs its token too (login CSRF).
    r = sec.as_("signed_out").post("/login", data={"name": "ada", "password": PW})
    assert r.status_code == 403


def test_brute_force_locks_the_account_then_the_address(web_template: Path, tmp_path: Path) -> None:
    # Low limits, so the test is quick; its own site, so its address limit is its own.
    sites = make_site(
        tmp_path,
        web_template,
        WEB__LOGIN_FAILURES_PER_ACCOUNT="3",
        WEB__LOGIN_FAILURES_PER_MINUTE="6",
    )
    sec = next(sites)
    _member(sec, "bruce")
    client = sec.as_("signed_out")
    for _ in range(3):
        assert _login(client, "bruce", "wrong password").status_code == 401
    # Locked now: even the right password waits.
    r = _login(client, "bruce")
    assert r.status_code == 429 and "too many failed sign-ins for this account" in r.text
    # Other names from the same address: the per-address limit (6/min) stops them too.
    statuses = [_login(client, f"nobody{i}", "guess").status_code for i in range(5)]
    assert statuses[-1] == 429 and 401 in statuses
    assert "Retry-After" in _login(client, "nobody", "guess").headers
    sites.close()


def test_reset_and_removal_end_sign_ins(sec: Site) -> None:
    _member(sec, "rita")
    client = sec.as_("signed_out")
    r = _login(client, "rita")
    _use(client, _token(r))
    assert client.get("/account").status_code == 200
    reset_member(sec.engine, "rita")
    assert client.get("/account").status_code == 303
    assert _login(client, "rita").status_code == 401  # the old password is gone
    _member(sec, "rex")
    r = _login(client, "rex")
    _use(client, _token(r))
    assert client.get("/account").status_code == 200
    remove_member(sec.engine, "rex")
    assert client.get("/account.json").status_code == 404
    assert client.get("/account").status_code == 303


def test_welcome_link_sets_the_password_once(sec: Site) -> None:
    inv = add_member(sec.engine, "wendy", "editor", ["demo"], actor="test")
    client = sec.as_("signed_out")
    page = client.get(f"/welcome/{inv.token}")
    assert page.status_code == 200 and "wendy" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    form = {"csrf": csrf.group(1), "password": PW, "confirm": PW}
    r = client.post(f"/welcome/{inv.token}", data=form)
    assert r.status_code == 303
    assert client.get(f"/welcome/{inv.token}").status_code == 404
    assert _login(sec.as_("signed_out"), "wendy").status_code == 303


def test_next_only_goes_to_the_dashboard(sec: Site) -> None:
    _member(sec, "nina")
    for target, expected in (
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/apps/demo/trends", "/apps/demo/trends"),
    ):
        r = _login(sec.as_("signed_out"), "nina", next=target)
        assert r.headers["location"] == expected


def test_password_protected_share_link(sec: Site) -> None:
    client = sec.as_("signed_out")
    token = sec.locked_token
    page = client.get(f"/share/{token}/overview")
    assert page.status_code == 401 and "needs a password" in page.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    wrong = client.post(f"/share/{token}/unlock", data={"csrf": csrf.group(1), "password": "x"})
    assert wrong.status_code == 401
    ok = client.post(
        f"/share/{token}/unlock", data={"csrf": csrf.group(1), "password": sec.locked_password}
    )
    assert ok.status_code == 303
    header = _set_cookie(ok, "eventkit_share")
    assert f"Path=/share/{token}" in header and "HttpOnly" in header
    assert client.get(f"/share/{token}/overview?{RANGE}").status_code == 200
    # The unlock cookie is no member sign-in.
    assert client.get("/account").status_code == 303


def test_pages_carry_security_headers(site: Site) -> None:
    r = site.as_("viewer").get(f"/apps/demo/overview?{RANGE}")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["cache-control"] == "no-store"
    assert "<script>" not in r.text  # no inline script: the CSP forbids it


def test_proxy_header_sign_in_only_from_trusted_addresses(
    web_template: Path, tmp_path: Path
) -> None:
    for site in make_site(
        tmp_path,
        web_template,
        WEB__PROXY_AUTH_HEADER="X-Forwarded-User",
        WEB__PROXY_AUTH_ADDRESSES="testclient",
    ):
        client = site.as_("signed_out")
        assert client.get("/account", headers={"X-Forwarded-User": "ada"}).status_code == 200
        assert client.get("/account", headers={"X-Forwarded-User": "mallory"}).status_code == 403
    (tmp_path / "2").mkdir()
    for site in make_site(tmp_path / "2", web_template, WEB__PROXY_AUTH_HEADER="X-Forwarded-User"):
        # The test client is not a trusted proxy address: the header is ignored.
        client = site.as_("signed_out")
        assert client.get("/account", headers={"X-Forwarded-User": "ada"}).status_code == 303
