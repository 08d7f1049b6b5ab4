"""Bad input: schemathesis generates requests for every operation of the OpenAPI schema
(/schema/openapi.json) of a real server; none may answer 5xx or hang.

Both valid (positive) and schema-violating (negative) requests are sent, with the app's
secret key (which may call every endpoint). ``FUZZ_EXAMPLES`` sets the examples per
operation and mode (100 in CI; ``make fuzz`` runs 1000). The web dashboard's routes,
which the schema leaves out, get generated requests of their own (below).
"""

from __future__ import annotations

import os
from collections import Counter
from urllib.parse import quote

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from eventkit.accounts.members import add_member, get_member
from eventkit.accounts.signins import csrf_token, start_signin
from tests.e2e.conftest import ServerProcess

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
TIMEOUT = 15  # seconds: an answer slower than this is a hang


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    # Fuzzing sends many unauthorised-looking requests from one address, and erases
    # many generated users: no propagation wait (3 s by default) per erasure.
    return {
        "EVENTKIT_RATE_LIMITS__AUTH_FAILURES_PER_MINUTE": "0",
        "EVENTKIT_PRIVACY__PROPAGATION_SECONDS": "0",
    }


def test_no_generated_request_gets_a_5xx_or_hangs(server: ServerProcess) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {server.secret_key}"
    statuses: Counter[int] = Counter()
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: schemathesis.Case) -> None:
                response = case.call(base_url=server.url, session=session, timeout=TIMEOUT)
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} -> {response.status_code}: "
                        f"{response.text[:300]}"
                    )

            try:
                run()
            except Unsatisfiable:
                # Nothing in this operation can be made invalid (no parameters, no body).
                assert mode is GenerationMode.NEGATIVE
    total = sum(statuses.values())
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    print(f"fuzz: {operations} operations, {total} requests, {server_errors} 5xx, {statuses}")
    assert operations >= 5
    assert not failures, "\n".join(failures[:20])


# -- the web dashboard -------------------------------------------------------------------
# Its routes are not in the OpenAPI schema (they serve HTML), so hypothesis generates
# their paths, query strings and form bodies here: known parameter names with hostile
# values, unknown names, odd path segments. An admin's session cookie and a valid CSRF
# token let every request reach its handler. Sign-out routes are left out (they would end
# the session the run uses).

WEB_PARAMS = [
    "since",
    "until",
    "interval",
    "by",
    "where",
    "event",
    "measure",
    "compare",
    "step",
    "window",
    "periods",
    "start_event",
    "return_event",
    "users_at",
    "status",
    "limit",
    "view",
    "user",
    "name",
    "user_id",
    "platform",
    "format",
    "action",
    "value",
    "confirmed",
    "variant",
    "role",
    "apps",
    "pages",
    "query",
    "expires",
    "password",
    "label",
    "id",
    "kind",
    "keep_old",
    "old",
    "new",
    "confirm",
    "next",
]
#: Text a browser can send (no lone surrogates: they cannot be UTF-8 encoded).
TEXT = st.characters(blacklist_categories=("Cs",))
WEB_VALUES = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "1",
            "-1",
            "30d",
            "2026-01-31",
            "day",
            "week",
            "hour",
            "month",
            "users",
            "count",
            "platform",
            "platform=ios",
            "a!=b",
            "=",
            "ios",
            "default",
            "overview",
            "funnels",
            "secret",
            "write",
            "enable",
            "rules",
            "rollout",
            "[]",
            '[{"rollout": 50}]',
            "{}",
            "999999999999",
            "1e308",
            "nan",
            "%",
            "../..",
            "\x00",
            "∑",
            "9" * 600,
        ]
    ),
    st.text(TEXT, max_size=40),
)
WEB_GET = [
    "/",
    "/login",
    "/account",
    "/admin/members",
    "/admin/shares",
    "/admin/keys",
    "/apps/{app}/{page}",
    "/apps/{app}/{page}.json",
    "/apps/{app}/{page}.csv",
    "/apps/{app}/{detail}/{item}",
    "/apps/{app}/{detail}/{item}.json",
    "/share/{item}",
    "/share/{item}/{page}",
    "/welcome/{item}",
]
WEB_POST = [
    "/login",
    "/account/password",
    "/admin/members",
    "/admin/shares",
    "/admin/keys",
    "/apps/{app}/flags/{item}/change",
    "/apps/{app}/experiments/{item}/change",
    "/share/{item}/unlock",
    "/welcome/{item}",
]
SEGMENT = st.one_of(
    st.sampled_from(
        [
            "default",
            "overview",
            "trends",
            "funnels",
            "retention",
            "sessions",
            "live",
            "users",
            "flags",
            "experiments",
            "nope",
            "x" * 300,
        ]
    ),
    st.text(
        alphabet=st.characters(blacklist_characters="/?#%", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=20,
    ),
)


def _web_session(server: ServerProcess) -> tuple[requests.Session, str]:
    engine = server.engine()
    add_member(engine, "fuzz-admin", "admin", None, actor="fuzz")
    token = start_signin(
        engine, member_id=get_member(engine, "fuzz-admin").id, lifetime_seconds=3600
    )
    engine.dispose()
    session = requests.Session()
    session.cookies.set("eventkit_session", token)
    return session, csrf_token(token)


def test_no_generated_web_request_gets_a_5xx_or_hangs(server: ServerProcess) -> None:
    session, csrf = _web_session(server)
    statuses: Counter[int] = Counter()
    failures: list[str] = []

    @settings(
        max_examples=max(20, EXAMPLES),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        post=st.booleans(),
        route=st.integers(min_value=0, max_value=100),
        parts=st.fixed_dictionaries(
            {
                "app": SEGMENT,
                "page": SEGMENT,
                "item": SEGMENT,
                "detail": st.sampled_from(["sessions", "flags", "experiments"]),
            }
        ),
        params=st.dictionaries(
            st.one_of(st.sampled_from(WEB_PARAMS), st.text(TEXT, max_size=8)),
            WEB_VALUES,
            max_size=8,
        ),
    )
    def run(post: bool, route: int, parts: dict[str, str], params: dict[str, str]) -> None:
        routes = WEB_POST if post else WEB_GET
        path = routes[route % len(routes)].format(
            **{k: quote(v, safe="") for k, v in parts.items()}
        )
        url = f"{server.url}{path}"
        if post:
            r = session.post(
                url, data={**params, "csrf": csrf}, timeout=TIMEOUT, allow_redirects=False
            )
        else:
            r = session.get(url, params=params, timeout=TIMEOUT, allow_redirects=False)
        statuses[r.status_code] += 1
        if r.status_code >= 500:
            failures.append(
                f"{'POST' if post else 'GET'} {path} {params} -> {r.status_code}: {r.text[:300]}"
            )

    run()
    print(f"web fuzz: {sum(statuses.values())} requests, {statuses}")
    assert statuses[200] > 0
    assert not failures, "\n".join(failures[:20])
