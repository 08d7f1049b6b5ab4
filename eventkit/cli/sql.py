"""``eventkit sql``: read-only SQL over one app's relations (docs/sql.md)."""

from __future__ import annotations

import csv
import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from eventkit.cli.context import state
from eventkit.cli.options import AppOption, one_app
from eventkit.cli.output import Format, FormatOption, console, err_console
from eventkit.errors import EventKitError
from eventkit.sql.runner import EngineName, QueryStream, open_query
from eventkit.storage.relations import RELATIONS

__all__ = ["relations", "sql"]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _write_json(stream: QueryStream) -> None:
    """Stream the JSON document; an error after rows were written ends it with an
    ``error`` member (and ``truncated``) instead of leaving it half-written."""
    out = sys.stdout
    out.write('{"columns": ' + json.dumps(stream.columns) + ', "rows": [')
    error: EventKitError | None = None
    try:
        for i, row in enumerate(stream.rows()):
            out.write(("," if i else "") + "\n  " + json.dumps(list(row), default=str))
    except EventKitError as exc:
        error = exc
        stream.truncated = True
    tail: dict[str, Any] = {
        "row_count": stream.row_count,
        "truncated": stream.truncated,
        "engine": stream.engine,
        "elapsed_ms": round(stream.elapsed_ms, 1),
    }
    if error is not None:
        tail["error"] = {"code": error.code, "message": error.message}
    out.write("\n], " + json.dumps(tail)[1:] + "\n")
    if error is not None:
        raise SystemExit(1)


def _write_csv(stream: QueryStream) -> None:
    w = csv.writer(sys.stdout)
    w.writerow(stream.columns)
    for row in stream.rows():
        w.writerow([_cell(v) for v in row])


def _write_table(stream: QueryStream) -> None:
    table = Table(header_style="bold cyan")
    for c in stream.columns:
        table.add_column(c)
    for row in stream.rows():
        table.add_row(*(_cell(v) for v in row))
    console.print(table)
    note = f"{stream.row_count} rows in {stream.elapsed_ms:.0f} ms ({stream.engine})"
    if stream.truncated:
        note += f"; cut at {stream.max_rows} rows (--limit, sql.max_rows)"
    console.print(f"[dim]{note}[/dim]", highlight=False)


def sql(
    ctx: typer.Context,
    query: Annotated[
        str | None, typer.Argument(help="One SELECT over events, sessions, users, …")
    ] = None,
    app_name: AppOption = None,
    list_relations: Annotated[
        bool, typer.Option("--relations", help="List the relations and their columns.")
    ] = False,
    engine: Annotated[
        str | None,
        typer.Option(help="database (SQLite/PostgreSQL) or duckdb (default: sql.engine)."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Most rows (at most sql.max_rows).")
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Run a read-only SQL query over one app's relations (`--relations` lists them).
    Writes, DDL, ATTACH, PRAGMA and other apps' rows are refused."""
    if list_relations:
        relations(fmt)
        return
    if query is None:
        raise typer.BadParameter("give a QUERY (or --relations)")
    st = state(ctx)
    eng = st.engine()
    app_id = one_app(eng, app_name).id
    chosen: EngineName | None = None
    if engine is not None:
        if engine not in ("database", "duckdb"):
            raise typer.BadParameter("must be database or duckdb", param_hint="--engine")
        chosen = "duckdb" if engine == "duckdb" else "database"
    with open_query(eng, st.settings, app_id, query, limit=limit, engine_name=chosen) as stream:
        if fmt is Format.json:
            _write_json(stream)
        elif fmt is Format.csv:
            _write_csv(stream)
        else:
            _write_table(stream)
        if stream.truncated and fmt is not Format.table:
            err_console.print(f"note: cut at {stream.max_rows} rows", highlight=False)


def relations(fmt: FormatOption = Format.table) -> None:
    """The relations and columns a query can read (docs/sql.md)."""
    rows = [
        {"relation": r.name, "column": c.name, "description": c.doc}
        for r in RELATIONS
        for c in r.columns
    ]
    if fmt is Format.json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    if fmt is Format.csv:
        w = csv.DictWriter(sys.stdout, fieldnames=["relation", "column", "description"])
        w.writeheader()
        w.writerows(rows)
        return
    for r in RELATIONS:
        table = Table(title=f"{r.name} — {r.doc}", title_justify="left", header_style="bold")
        table.add_column("column")
        table.add_column("description")
        for c in r.columns:
            table.add_row(c.name, c.doc)
        console.print(table)
