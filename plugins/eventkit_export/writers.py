"""Streaming exports of stored events: rows are read in id order, a page at a time,
and written as they come, so memory stays bounded whatever the export's size."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.errors import ConfigError
from eventkit.reports.query import Filter, field_sql
from eventkit.storage.types import UUIDBytes, json_loads
from eventkit.timeutil import from_us

__all__ = ["COLUMNS", "FORMATS", "ExportQuery", "count", "export", "pages"]

FORMATS = ("parquet", "csv", "ndjson")
#: Exported columns, in order (the ``events`` table; times as UTC instants).
COLUMNS = (
    "id", "app_id", "event_id", "name", "timestamp", "sent_at", "received_at", "ts",
    "user_id", "anonymous_id", "session_id", "platform", "app_version", "country", "ip",
    "source", "properties", "context",
)  # fmt: skip
TIMES = ("timestamp", "sent_at", "received_at", "ts")
#: Columns a ``--where`` key names directly; any other key is a top-level property.
FILTER_COLUMNS = (
    "name", "user_id", "anonymous_id", "session_id", "platform", "app_version", "country",
    "source",
)  # fmt: skip
PAGE = 5000


@dataclass(frozen=True)
class ExportQuery:
    """Which events: app, ``[since, until)`` on the corrected time, ``where`` filters."""

    app_id: int | None = None
    since: int | None = None
    until: int | None = None
    where: tuple[Filter, ...] = ()

    def sql(self, dialect: str) -> tuple[str, dict[str, Any]]:
        """The WHERE conditions and their parameters."""
        conds: list[str] = ["1 = 1"]
        params: dict[str, Any] = {}
        if self.app_id is not None:
            conds.append("app_id = :app_id")
            params["app_id"] = self.app_id
        if self.since is not None:
            conds.append("ts >= :since")
            params["since"] = self.since
        if self.until is not None:
            conds.append("ts < :until")
            params["until"] = self.until
        for i, f in enumerate(self.where):
            expr = f.key if f.key in FILTER_COLUMNS else field_sql(dialect, f.key)
            if f.negate:
                conds.append(f"({expr} IS NULL OR {expr} != :w{i})")
            else:
                conds.append(f"{expr} = :w{i}")
            params[f"w{i}"] = f.value
        return " AND ".join(conds), params


_uuid = UUIDBytes()


def _doc(value: Any) -> Any:
    return json_loads(value) if isinstance(value, str | bytes) else value


def count(engine: Engine, q: ExportQuery) -> int:
    """How many events the export will write."""
    where, params = q.sql(engine.dialect.name)
    with engine.connect() as conn:
        return int(
            conn.execute(text(f"SELECT COUNT(*) FROM events WHERE {where}"), params).scalar_one()
        )


def pages(engine: Engine, q: ExportQuery, page: int = PAGE) -> Iterator[list[dict[str, Any]]]:
    """The matching events as row dicts (times in epoch µs, documents decoded), in
    pages of at most ``page`` rows, in arrival order (keyset on ``id``)."""
    where, params = q.sql(engine.dialect.name)
    dialect = engine.dialect
    sql = text(
        f"SELECT {', '.join(COLUMNS)} FROM events WHERE id > :after AND {where} "
        "ORDER BY id LIMIT :page"
    )
    after = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(sql, {**params, "after": after, "page": page}).all()
        if not rows:
            return
        out = []
        for row in rows:
            d = dict(zip(COLUMNS, row, strict=True))
            d["event_id"] = str(_uuid.process_result_value(d["event_id"], dialect))
            d["properties"] = _doc(d["properties"])
            d["context"] = _doc(d["context"])
            out.append(d)
        yield out
        after = rows[-1][0]


def _iso(us: int | None) -> str | None:
    return None if us is None else from_us(us).isoformat(timespec="microseconds")


def _text_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row for CSV/NDJSON: instants as ISO 8601 UTC text."""
    return {**row, **{k: _iso(row[k]) for k in TIMES}}


class _Ndjson:
    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            self.out.write(json.dumps(_text_row(row), ensure_ascii=False, separators=(",", ":")))
            self.out.write("\n")

    def close(self) -> None:
        pass


class _Csv:
    def __init__(self, out: IO[str]) -> None:
        self.writer = csv.DictWriter(out, fieldnames=COLUMNS)
        self.writer.writeheader()

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        for row in rows:
            r = _text_row(row)
            r["properties"] = json.dumps(r["properties"], ensure_ascii=False, separators=(",", ":"))
            r["context"] = json.dumps(r["context"], ensure_ascii=False, separators=(",", ":"))
            self.writer.writerow(r)

    def close(self) -> None:
        pass


class _Parquet:
    """Typed columns: instants as ``timestamp[us, UTC]``; properties and context as
    JSON text (their shape differs from event to event)."""

    def __init__(self, path: Path) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ConfigError(
                "Parquet export needs pyarrow: pip install 'eventkit[parquet]'"
            ) from None
        self.pa = pa
        ts = pa.timestamp("us", tz="UTC")
        types = {"id": pa.int64(), "app_id": pa.int32(), **dict.fromkeys(TIMES, ts)}
        self.schema = pa.schema([(c, types.get(c, pa.string())) for c in COLUMNS])
        self.writer = pq.ParquetWriter(str(path), self.schema, compression="zstd")

    def write(self, rows: Sequence[dict[str, Any]]) -> None:
        cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
        for row in rows:
            for c in COLUMNS:
                cols[c].append(row[c])
        for c in ("properties", "context"):
            cols[c] = [json.dumps(v, ensure_ascii=False, separators=(",", ":")) for v in cols[c]]
        arrays = [self.pa.array(cols[c], type=self.schema.field(c).type) for c in COLUMNS]
        self.writer.write_table(self.pa.Table.from_arrays(arrays, schema=self.schema))

    def close(self) -> None:
        self.writer.close()


def export(
    engine: Engine,
    q: ExportQuery,
    fmt: str,
    path: Path,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the matching events to ``path`` in ``fmt``; the number written.
    ``progress(n)`` is called after each page with the rows it held."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}: use {', '.join(FORMATS)}")
    written = 0
    with ExitStack() as stack:
        writer: _Parquet | _Csv | _Ndjson
        if fmt == "parquet":
            writer = _Parquet(path)
        else:
            fh = stack.enter_context(path.open("w", encoding="utf-8", newline=""))
            writer = _Csv(fh) if fmt == "csv" else _Ndjson(fh)
        try:
            for rows in pages(engine, q):
                writer.write(rows)
                written += len(rows)
                if progress is not None:
                    progress(len(rows))
        finally:
            writer.close()
    return written
