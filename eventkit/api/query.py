"""``POST /v1/query``: read-only SQL over the credential's app (``query:read``,
docs/sql.md). Rows stream as they are fetched."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
from collections.abc import Iterator
from typing import Any, Literal

import msgspec
from litestar import post
from litestar.params import JSONBody
from litestar.response import Stream

from eventkit.api.deps import QUERY_READ, AppKey, RuntimeDep
from eventkit.errors import EventKitError
from eventkit.sql.runner import QueryStream, open_query

__all__ = ["QueryRequest", "run_query"]


class QueryRequest(msgspec.Struct, forbid_unknown_fields=True):
    """The body of ``POST /v1/query``: one SELECT (``sql``), the engine (default
    ``sql.engine``), the most rows (at most ``sql.max_rows``) and the format."""

    sql: str
    engine: Literal["database", "duckdb"] | None = None
    limit: int | None = None
    format: Literal["json", "csv"] = "json"


def _json_rows(stream: QueryStream, stack: contextlib.ExitStack) -> Iterator[bytes]:
    """The JSON document, rows as they come; an error after the first rows ends it with
    an ``error`` member (the status line was already sent)."""
    with stack:
        yield b'{"columns":' + json.dumps(stream.columns).encode() + b',"rows":['
        error: EventKitError | None = None
        try:
            for i, row in enumerate(stream.rows()):
                yield (b"," if i else b"") + json.dumps(list(row), default=str).encode()
        except EventKitError as exc:
            error, stream.truncated = exc, True
        tail: dict[str, Any] = {"row_count": stream.row_count, "truncated": stream.truncated,
                                "engine": stream.engine,
                                "elapsed_ms": round(stream.elapsed_ms, 1)}  # fmt: skip
        if error is not None:
            tail["error"] = {"code": error.code, "message": error.message}
        yield b"]," + json.dumps(tail).encode()[1:]


def _csv_rows(stream: QueryStream, stack: contextlib.ExitStack) -> Iterator[bytes]:
    with stack:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(stream.columns)
        for row in stream.rows():
            w.writerow(["" if v is None else v for v in row])
            if buf.tell() > 64 * 1024:
                yield buf.getvalue().encode()
                buf.seek(0)
                buf.truncate()
        yield buf.getvalue().encode()


@post(
    "/v1/query",
    name="query",
    summary="Run read-only SQL",
    description="One SELECT over the relations of the credential's app (events, sessions, "
    "users, identities, exposures, flags, cohorts, cohort_members; docs/sql.md). Needs "
    "query:read (a token, or the secret key). Writes, DDL, ATTACH, PRAGMA and other apps' "
    "rows are refused (403 query_refused); the statement timeout and row limit apply "
    "(422 query_limit).",
    tags=["read"],
    dependencies={"app_key": QUERY_READ},
    status_code=200,
)
async def run_query(app_key: AppKey, runtime: RuntimeDep, data: JSONBody[QueryRequest]) -> Stream:
    """Stream the result as JSON (``{"columns", "rows", "row_count", "truncated",
    "engine", "elapsed_ms"}``) or CSV."""
    body = data
    stack = contextlib.ExitStack()

    def start() -> QueryStream:
        # Opens the query and fetches the first batch, so most errors get their own
        # status code before the response starts.
        return stack.enter_context(
            open_query(
                runtime.engine,
                runtime.settings,
                app_key.app_id,
                body.sql,
                limit=body.limit,
                engine_name=body.engine,
            )
        )

    try:
        stream = await asyncio.to_thread(start)
    except BaseException:
        await asyncio.to_thread(stack.close)
        raise
    if body.format == "csv":
        return Stream(_csv_rows(stream, stack), media_type="text/csv; charset=utf-8")
    return Stream(_json_rows(stream, stack), media_type="application/json")
