"""The access matrix: every dashboard route x {signed out, viewer, editor, admin, share
link, account of another app} -> the expected status; and no page or twin of the demo
app says anything to an account of another app."""

from __future__ import annotations

from collections import Counter

import pytest

from eventkit.accounts.access import PAGES, SHAREABLE_PAGES
from tests.web.conftest import OTHER, PRINCIPALS, RANGE, Site

FLAG, EXPERIMENT = "new_checkout", "checkout-test"
USERS_AT = "step=signup_completed&step=purchase_completed&users_at=1"
MEMBERS = ("viewer", "editor", "admin")
#: Statuses of a route that only needs a signed-in member of the demo app.
READ = {
    "signed_out": 303,
    "viewer": 200,
    "editor": 200,
    "admin": 200,
    "share": 303,
    "other_app": 404,
}
READ_TWIN = {**READ, "signed_out": 401, "share": 401}


def _session_id(site: Site) -> str:
    data = site.as_("admin").get(f"/apps/demo/sessions.json?{RANGE}&view=list&limit=1").json()
    return str(data[0]["id"])


def get_routes(site: Site) -> list[tuple[str, dict[str, int]]]:
    """Every GET route of the dashboard with the expected status per principal."""
    routes: list[tuple[str, dict[str, int]]] = [
        ("/", {**READ, "viewer": 303, "editor": 303, "admin": 303, "other_app": 303}),
        ("/login", {p: 303 if p in (*MEMBERS, "other_app") else 200 for p in PRINCIPALS}),
        ("/account", {**READ, "other_app": 200}),
        ("/admin/members", {**READ, "viewer": 403, "editor": 403, "other_app": 403}),
        ("/admin/shares", {**READ, "viewer": 403, "editor": 403, "other_app": 403}),
        ("/admin/keys", {**READ, "viewer": 403, "editor": 403, "other_app": 403}),
        (f"/apps/{OTHER}/overview", {**READ, "viewer": 404, "editor": 404, "other_app": 200}),
        ("/apps/nosuchapp/overview", {**READ, "viewer": 404, "editor": 404, "admin": 404}),
    ]
    for page in PAGES:
        routes.append((f"/apps/demo/{page}?{RANGE}", READ))
        routes.append((f"/apps/demo/{page}.json?{RANGE}", READ_TWIN))
        routes.append((f"/apps/demo/{page}.csv?{RANGE}", READ_TWIN))
    sid = _session_id(site)
    for detail in (f"sessions/{sid}", f"flags/{FLAG}", f"experiments/{EXPERIMENT}"):
        routes.append((f"/apps/demo/{detail}", READ))
        routes.append((f"/apps/demo/{detail}.json", READ_TWIN))
    routes.append((f"/apps/demo/flags/{FLAG}.json?view=history", READ_TWIN))
    routes.append((f"/apps/demo/funnels.csv?{RANGE}&{USERS_AT}", READ_TWIN))
    token = site.share_token
    # A share link works for anyone holding it, signed in or not, on its pages only.
    for page in PAGES:
        ok = page in ("overview", "funnels")
        for suffix in ("", ".json", ".csv"):
            routes.append(
                (
                    f"/share/{token}/{page}{suffix}?{RANGE}",
                    dict.fromkeys(PRINCIPALS, 200 if ok else 404),
                )
            )
    routes.append((f"/share/{token}", dict.fromkeys(PRINCIPALS, 303)))
    routes.append(
        (f"/share/{token}/funnels.csv?{RANGE}&{USERS_AT}", dict.fromkeys(PRINCIPALS, 403))
    )
    routes.append(("/share/not-a-token/overview", dict.fromkeys(PRINCIPALS, 404)))
    routes.append((f"/share/{site.locked_token}/overview", dict.fromkeys(PRINCIPALS, 401)))
    routes.append((f"/share/{site.locked_token}/overview.json", dict.fromkeys(PRINCIPALS, 401)))
    routes.append(("/static/app.css", dict.fromkeys(PRINCIPALS, 200)))
    return routes


def post_routes() -> list[tuple[str, dict[str, str], dict[str, int]]]:
    """State-changing routes (with a valid CSRF token) and the expected statuses."""
    write = {
        "signed_out": 401,
        "viewer": 403,
        "editor": 200,
        "admin": 200,
        "share": 401,
        "other_app": 404,
    }
    admin = {
        "signed_out": 401,
        "viewer": 403,
        "editor": 403,
        "admin": 400,
        "share": 401,
        "other_app": 403,
    }
    return [
        (f"/apps/demo/flags/{FLAG}/change", {"action": "rollout", "value": "50"}, write),
        (
            f"/apps/demo/experiments/{EXPERIMENT}/change",
            {"action": "bogus"},
            {**write, "editor": 400, "admin": 400},
        ),
        ("/admin/members", {"action": "bogus"}, admin),
        ("/admin/shares", {"action": "create", "app": "demo", "pages": "users"}, admin),
        ("/admin/keys", {"app": "demo", "kind": "bogus"}, admin),
    ]


def test_every_get_route_for_every_principal(site: Site) -> None:
    failures, count = [], Counter[int]()
    for path, expected in get_routes(site):
        for who in PRINCIPALS:
            status = site.as_(who).get(path).status_code
            count[status] += 1
            if status != expected[who]:
                failures.append(f"GET {path} as {who}: {status}, expected {expected[who]}")
    assert not failures, "\n".join(failures)
    assert sum(count.values()) >= 6 * 75  # 76 routes today


def test_every_post_route_for_every_principal(site: Site) -> None:
    failures = []
    for path, form, expected in post_routes():
        for who in PRINCIPALS:
            csrf = site.csrf(who, "/account" if who in (*MEMBERS, "other_app") else "/login")
            status = site.as_(who).post(path, data={**form, "csrf": csrf}).status_code
            if status != expected[who]:
                failures.append(f"POST {path} as {who}: {status}, expected {expected[who]}")
    assert not failures, "\n".join(failures)


def test_an_account_of_another_app_learns_nothing_about_it(site: Site) -> None:
    client = site.as_("other_app")
    home = client.get("/")
    assert home.headers["location"] == f"/apps/{OTHER}/overview"
    for page in PAGES:
        for suffix in ("", ".json", ".csv"):
            body = client.get(f"/apps/{OTHER}/{page}{suffix}?{RANGE}").text
            assert "demo" not in body, (page, suffix)
        missing = client.get(f"/apps/demo/{page}.json?{RANGE}")
        assert missing.status_code == 404
        assert "demo" not in missing.text
    # Same answer for an app that exists and one that does not: the name leaks nothing.
    known = client.get("/apps/demo/overview").text
    assert known == client.get("/apps/nosuchapp/overview").text.replace("nosuchapp", "demo")


@pytest.mark.parametrize("page", SHAREABLE_PAGES)
def test_a_share_link_shows_no_people_keys_members_or_flag_controls(site: Site, page: str) -> None:
    token = site.share_token
    client = site.as_("signed_out")
    body = client.get(f"/share/{token}/{page}?{RANGE}").text
    if page not in ("overview", "funnels"):
        return
    for secret in (
        "user-0",
        "ek_write_",
        "ek_secret_",
        "vera",
        "eddie",
        "ada",
        "/flags/",
        "Sign out",
        "/admin/",
        'csrf" value="x',
        "/apps/",
    ):
        assert secret not in body, (page, secret)
    assert "read-only link" in body
