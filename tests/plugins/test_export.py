"""The bundled export plugin: files read back and compared to the stored events."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

import eventkit_export
from eventkit.storage.apps import create_app as create_tracked_app
from eventkit.storage.events import EventStore
from eventkit.storage.models import EVENTS
from eventkit.timeutil import from_us, to_us
from eventkit_export import writers
from eventkit_export.writers import ExportQuery
from tests.factories import make_event
from tests.plugins.conftest import Use

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def data(engine: Engine) -> tuple[Engine, int]:
    keys = create_tracked_app(engine, "shop")
    other = create_tracked_app(engine, "other")
    events = []
    for i in range(23):
        t = to_us(T0 + timedelta(hours=i))
        events.append(
            make_event(
                keys.app_id,
                "purchase" if i % 3 == 0 else "screen_view",
                ts=t,
                timestamp=t,
                received_at=t + 1,
                sent_at=t if i % 2 else None,
                platform="ios" if i % 2 else "android",
                user_id=f"u{i}" if i % 4 else None,
                properties={"i": i, "screen": "home" if i < 10 else "cart", "ü": "ö"},
                context={"os": {"name": "iOS"}, "n": [i]},
            )
        )
    events.append(make_event(other.app_id, "elsewhere", ts=to_us(T0)))
    EventStore(engine).write(events)
    return engine, keys.app_id


def expected(engine: Engine, **where: Any) -> list[dict[str, Any]]:
    """Stored rows read with SQLAlchemy (an independent path) as the export shapes them."""
    with engine.connect() as conn:
        rows = conn.execute(select(EVENTS).order_by(EVENTS.c.id)).mappings().all()
    out = []
    for r in rows:
        d = {c: r[c] for c in writers.COLUMNS}
        d["event_id"] = str(d["event_id"])
        if all(d.get(k) == v or d["properties"].get(k) == v for k, v in where.items()):
            out.append(d)
    return out


def as_text(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        **{
            k: None if row[k] is None else from_us(row[k]).isoformat(timespec="microseconds")
            for k in writers.TIMES
        },
    }


def test_ndjson_csv_and_parquet_read_back(data: tuple[Engine, int], tmp_path: Path) -> None:
    engine, _ = data
    want = expected(engine)
    seen: list[int] = []
    for fmt in writers.FORMATS:
        path = tmp_path / f"all.{fmt}"
        n = writers.export(engine, ExportQuery(), fmt, path, seen.append)
        assert n == len(want) == 24
        if fmt == "ndjson":
            got = [json.loads(line) for line in path.read_text().splitlines()]
            assert got == [as_text(r) for r in want]
        elif fmt == "csv":
            with path.open(newline="") as fh:
                got = list(csv.DictReader(fh))
            assert [g["event_id"] for g in got] == [r["event_id"] for r in want]
            for g, r in zip(got, [as_text(w) for w in want], strict=True):
                assert json.loads(g["properties"]) == r["properties"]
                assert json.loads(g["context"]) == r["context"]
                assert g["ts"] == r["ts"] and g["sent_at"] == (r["sent_at"] or "")
                assert g["user_id"] == (r["user_id"] or "") and int(g["id"]) == r["id"]
        else:
            table = pq.read_table(path)
            assert table.column_names == list(writers.COLUMNS)
            got = table.to_pylist()
            for g, r in zip(got, want, strict=True):
                for k in writers.TIMES:
                    assert (g[k] is None and r[k] is None) or to_us(g[k]) == r[k]
                assert json.loads(g["properties"]) == r["properties"]
                rest = [
                    c for c in writers.COLUMNS if c not in (*writers.TIMES, "properties", "context")
                ]
                assert {c: g[c] for c in rest} == {c: r[c] for c in rest}
    assert sum(seen) == 3 * 24


def test_pages_are_bounded(data: tuple[Engine, int]) -> None:
    engine, _ = data
    sizes = [len(p) for p in writers.pages(engine, ExportQuery(), page=5)]
    assert sizes == [5, 5, 5, 5, 4]


def test_filters(data: tuple[Engine, int], tmp_path: Path) -> None:
    from eventkit.reports.query import parse_filter

    engine, app_id = data
    q = ExportQuery(
        app_id=app_id,
        since=to_us(T0 + timedelta(hours=3)),
        until=to_us(T0 + timedelta(hours=15)),
        where=(parse_filter("platform=ios"), parse_filter("screen!=home")),
    )
    path = tmp_path / "f.ndjson"
    writers.export(engine, q, "ndjson", path)
    got = [json.loads(line)["properties"]["i"] for line in path.read_text().splitlines()]
    assert got == [i for i in range(3, 15) if i % 2 and i >= 10]
    assert writers.count(engine, q) == len(got)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_export_command(
    data: tuple[Engine, int], database_url: str, tmp_path: Path, use_plugins: Use
) -> None:
    import typer

    from eventkit.cli.app import root

    app = typer.Typer()
    app.callback()(root)
    eventkit_export.eventkit_cli_commands(app)
    out = tmp_path / "purchases.parquet"
    result = CliRunner().invoke(
        app,
        ["export", "-f", "parquet", "-o", str(out), "--app", "shop", "-w", "name=purchase",
         "--since", "2026-11-01", "--until", "2026-11-02"],
        env={"EVENTKIT_DATABASE_URL": database_url},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "wrote 8 events" in result.output
    names = pq.read_table(out).column("name").to_pylist()
    assert names == ["purchase"] * 8
    bad = CliRunner().invoke(
        app, ["export", "-f", "xml"], env={"EVENTKIT_DATABASE_URL": database_url}
    )
    assert bad.exit_code == 2 and "parquet, csv, ndjson" in bad.output
