"""``POST /v1/query``: JSON and CSV streams, the sandbox's refusals as status codes,
and an error after the first rows ending the JSON document."""

from __future__ import annotations

import csv
import io

from sqlalchemy.engine import Engine

from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from eventkit.tokens import create_token
from tests.conftest import make_settings
from tests.factories import make_event
from tests.inprocess import api_client, bearer


async def test_query_over_http(database_url: str, engine: Engine) -> None:
    settings = make_settings(database_url, SQL__TIMEOUT_SECONDS="1", SQL__MAX_ROWS="5000000")
    create_app(engine, "shop")
    create_app(engine, "other")
    EventStore(engine).write(
        [make_event(1, "buy", user_id=f"u{i}", properties={"amount": i}) for i in range(3)]
        + [make_event(2, "hidden")]
    )
    token = create_token(engine, "shop", "q", "query:read").token
    h = bearer(token)
    async with api_client(settings) as client:
        sql = "SELECT user_id, properties ->> 'amount' AS amount FROM events ORDER BY user_id"
        r = await client.post("/v1/query", json={"sql": sql}, headers=h)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["columns"] == ["user_id", "amount"]
        assert [row[0] for row in body["rows"]] == ["u0", "u1", "u2"]
        assert body["row_count"] == 3 and body["truncated"] is False
        r = await client.post("/v1/query", json={"sql": sql, "format": "csv", "limit": 2},
                              headers=h)  # fmt: skip
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0] == ["user_id", "amount"] and len(rows) == 3
        r = await client.post("/v1/query", json={"sql": "SELECT name FROM events"}, headers=h)
        assert "hidden" not in r.text
        for sql, status, code in [
            ("DELETE FROM events", 403, "query_refused"),
            ('SELECT * FROM "public".api_keys', None, None),
            ("SELEC 1", 400, "query_error"),
            ("", 400, "invalid_request"),
        ]:
            r = await client.post("/v1/query", json={"sql": sql}, headers=h)
            if status is None:  # SQLite: no such table; PostgreSQL: permission denied
                assert r.status_code in (400, 403) and "key_hash" not in r.text
                continue
            assert (r.status_code, r.json()["error"]) == (status, code), r.text
        r = await client.post("/v1/query", json={"query": "SELECT 1"}, headers=h)
        assert r.status_code == 400 and "unknown field `query`" in r.json()["message"]
        endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
        r = await client.post("/v1/query", json={"sql": endless + "SELECT COUNT(*) FROM c"},
                              headers=h)  # fmt: skip
        assert r.status_code == 422 and r.json()["error"] == "query_limit"
        if engine.dialect.name == "sqlite":  # rows before the timeout: the JSON says so
            r = await client.post("/v1/query", json={"sql": endless + "SELECT x FROM c"},
                                  headers=h)  # fmt: skip
            assert r.status_code == 200
            body = r.json()
            assert body["rows"][:2] == [[1], [2]] and body["truncated"] is True
            assert body["error"]["code"] == "query_limit"
