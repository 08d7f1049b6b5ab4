"""The "Done when" of issue 17, on a real server: a script holding a
``reports:read,query:read`` token answers the three questions of the issue with one
request each on the demo data, with the numbers of a plain-Python computation over the
raw events, and the same token is refused when it tries to change a flag.

1. Which screens do people visit after a failed payment?  ``GET /v1/reports/paths``
2. How do users who used search in their first week retain?  ``GET /v1/reports/retention``
   filtered by a cohort (defined once by an admin with ``eventkit cohorts create``)
3. What is revenue per paying user by country?  ``POST /v1/query``
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict

import httpx
import pytest
from sqlalchemy import text

from eventkit.timeutil import from_us, now_us
from tests import cohorts_oracle
from tests.e2e.conftest import ServerProcess
from tests.reports import oracle, paths_oracle

pytestmark = pytest.mark.e2e

DAY = 86_400_000_000


@pytest.fixture(scope="module")
def server_env() -> dict[str, str]:
    # The admin's steps run the jobs themselves, so nothing changes under the checks.
    return {"EVENTKIT_SCHEDULER__ENABLED": "false"}


def eventkit(server: ServerProcess, *args: str) -> str:
    """Run an ``eventkit`` command on the server's database, as an admin would."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTKIT_")}
    env.update(EVENTKIT_DATABASE_URL=server.database_url, EVENTKIT_LOAD_PLUGINS="0",
               COLUMNS="200")  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "eventkit", *args], env=env, capture_output=True, text=True,
        timeout=600, cwd=server.log_dir, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done.stdout


def test_a_script_with_a_read_token_answers_and_cannot_change_flags(
    server: ServerProcess,
) -> None:
    # The admin: demo data, sessions, a cohort, and a token for the script.
    eventkit(server, "demo", "--app", "demo", "--users", "400", "--days", "21")
    eventkit(server, "sessions", "run")
    eventkit(server, "cohorts", "create", "searchers-week1", "--app", "demo",
             "--did", "search_performed", "--within", "7d")  # fmt: skip
    made = json.loads(eventkit(server, "tokens", "create", "analyst", "--app", "demo",
                               "--scope", "reports:read,query:read", "-f", "json"))  # fmt: skip
    headers = {"Authorization": f"Bearer {made['token']}"}
    with httpx.Client(base_url=server.url, timeout=120, headers=headers) as script:
        _answer_and_refuse(server, script)


def _answer_and_refuse(server: ServerProcess, script: httpx.Client) -> None:
    engine = server.engine()
    until = now_us()
    since = until - 21 * DAY
    window = {"since": from_us(since).isoformat(), "until": from_us(until).isoformat()}
    app_id = int(engine.connect().execute(text("SELECT id FROM apps WHERE name = 'demo'"))
                 .scalar_one())  # fmt: skip

    # 1. Screens after a failed payment.
    r = script.get("/v1/reports/paths", params={**window, "after": "payment_failed",
                                                "by": "screen", "steps": "5"})  # fmt: skip
    assert r.status_code == 200, r.text
    paths = r.json()
    with engine.connect() as conn:
        started = {
            str(i): int(s) for i, s in conn.execute(text("SELECT id, started_at FROM sessions"))
        }
    want = paths_oracle.all_paths(engine, started=started, since=since, until=until,
                                  after="payment_failed", before=None, steps=5, by="screen",
                                  app_id=app_id)  # fmt: skip
    through, ended = paths_oracle.tree(want, 5)
    assert paths["meta"]["sessions"] == len(want) > 0
    for row in paths["rows"]:
        nodes = tuple(row["path"].split(" → "))
        if "(other)" not in nodes:
            assert (row["sessions"], row["ended"]) == (through[nodes], ended[nodes]), nodes
    top = [(tuple(p["path"]), p["sessions"]) for p in paths["meta"]["top_paths"]]
    counts = defaultdict(int)
    for p in want:
        counts[tuple(p)] += 1
    assert all(counts[p] == n for p, n in top)

    # 2. Retention of the users who searched in their first week.
    r = script.get("/v1/reports/retention", params={**window, "cohort": "searchers-week1",
                                                    "periods": "8"})  # fmt: skip
    assert r.status_code == 200, r.text
    retention = r.json()
    members = cohorts_oracle.members(engine, [{"type": "event", "event": "search_performed",
                                               "within_days": 7}], now=until,
                                     app_id=app_id)  # fmt: skip
    rows = [row for row in oracle.load(engine, app_id) if row.actor in members]
    q_start, q_end = since - since % DAY, until - until % DAY + DAY
    expected = oracle.retention(rows, q_start, q_end, 8)
    got = {row["cohort"]: row["users"] for row in retention["rows"]}
    assert got == {from_us(d).date().isoformat(): v[0] for d, v in expected.items()}
    assert sum(got.values()) > 0
    for raw in retention["meta"]["counts"]:  # users back in period n, as observed so far
        want_row = next(v for d, v in expected.items()
                        if from_us(d).date().isoformat() == raw["cohort"])  # fmt: skip
        observed = [raw[str(n)] for n in range(8) if str(n) in raw]
        assert observed == want_row[1 : 1 + len(observed)], raw["cohort"]

    # 3. Revenue per paying user by country.
    sql = ("SELECT country, SUM(CAST(properties ->> 'amount' AS DOUBLE PRECISION)) "
           "/ COUNT(DISTINCT actor) AS per_payer FROM events "
           "WHERE name = 'purchase_completed' GROUP BY country ORDER BY country")  # fmt: skip
    r = script.post("/v1/query", json={"sql": sql})
    assert r.status_code == 200, r.text
    answer = dict(r.json()["rows"])
    revenue: dict[str, float] = defaultdict(float)
    payers: dict[str, set[str]] = defaultdict(set)
    for row in oracle.load(engine, app_id):
        if row.name == "purchase_completed" and row.actor:
            revenue[row.country or ""] += float(row.props["amount"])
            payers[row.country or ""].add(row.actor)
    assert set(answer) == set(revenue) and answer
    for country, value in answer.items():
        assert value == pytest.approx(revenue[country] / len(payers[country]), rel=1e-9)

    # The same token may not change a flag, nor read keys through SQL.
    with server.client("secret") as admin:
        before = admin.get("/v1/flags/checkout-test").json()
    r = script.put("/v1/flags/checkout-test", json={**before["definition"], "enabled": False}
                   if "definition" in before else {"enabled": False})  # fmt: skip
    assert r.status_code == 403 and "flags:write" in r.json()["message"]
    with server.client("secret") as admin:
        assert admin.get("/v1/flags/checkout-test").json() == before
    r = script.post("/v1/query", json={"sql": "SELECT key_hash FROM api_keys"})
    assert r.status_code in (400, 403)
    with engine.connect() as conn:
        hashes = conn.execute(text("SELECT key_hash FROM api_keys")).scalars().all()
    assert hashes and not any(h in r.text for h in hashes)
    engine.dispose()
