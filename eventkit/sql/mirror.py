"""The Parquet mirror DuckDB reads (docs/sql.md, "The DuckDB engine").

Layout under ``sql.mirror_directory``, one folder per database::

    <db>/manifest.json                 what is mirrored, written last, atomically
    <db>/app_<id>/events/<lo>-<hi>.parquet    events of one app, arrival ids lo..hi
    <db>/app_<id>/<table>-<n>.parquet  a snapshot of a smaller table (sessions, …)

Events are append-only, so a refresh appends the arrivals above each app's
``covered`` id as new part files (and merges small parts). Rows are never updated
but may be deleted (erasure, retention): a refresh compares the number of events at
or under the mirrored ids with the database and rebuilds the parts of any app that
lost rows; until then, a query that sees that rows were deleted since the last
refresh (the deletion generation moved) reads the app from the database instead.
The smaller mutable tables are re-exported when a cheap signature of them changes.
A query reads the parts plus the app's not-yet-mirrored tail straight from the
database, so DuckDB's events are exact and current.

Readers never see a half-written mirror: files are written under new names, the
manifest is replaced with a rename, and superseded files are deleted only a while
later (``_GRACE``), after queries that may still read them have finished.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection, Engine

from eventkit.config import Settings
from eventkit.errors import ConfigError
from eventkit.storage.errors import map_db_errors
from eventkit.storage.relations import _UUID_SQLITE
from eventkit.timeutil import US_PER_SECOND, now_us

__all__ = ["TABLES", "MirrorResult", "MirrorState", "mirror_root", "read_state", "refresh"]

_GRACE = 3600.0  # seconds superseded files are kept for running queries
_PART_ROWS = 1_000_000
_MERGE_BELOW = 200_000
_FETCH = 50_000


def _pa() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ConfigError(
            "the DuckDB engine needs duckdb and pyarrow: pip install 'eventkit[duckdb]'"
        ) from None
    return pyarrow


def _text(dialect: str, col: str) -> str:
    return f"CAST({col} AS TEXT)" if dialect == "postgresql" else col


def _event_columns(dialect: str) -> list[tuple[str, str, str]]:
    uid = _UUID_SQLITE.format(c="event_id") if dialect == "sqlite" else "CAST(event_id AS TEXT)"
    return [
        ("id", "id", "int64"), ("app_id", "app_id", "int64"), ("event_id", uid, "string"),
        ("name", "name", "string"), ("ts", "ts", "int64"), ("timestamp", "timestamp", "int64"),
        ("received_at", "received_at", "int64"), ("user_id", "user_id", "string"),
        ("anonymous_id", "anonymous_id", "string"), ("session_id", "session_id", "string"),
        ("platform", "platform", "string"), ("app_version", "app_version", "string"),
        ("country", "country", "string"), ("source", "source", "string"),
        ("properties", _text(dialect, "properties"), "string"),
        ("context", _text(dialect, "context"), "string"),
    ]  # fmt: skip


@dataclass(frozen=True)
class _Table:
    """A smaller table mirrored as per-app snapshots."""

    name: str
    select: str  # FROM … (every app); columns come from ``columns``
    columns: tuple[tuple[str, str, str], ...]  # (name, sql expr with {t} for text, arrow type)
    signature: str
    #: The app column in ``select``.
    app_column: str = "app_id"


def table_columns(dialect: str, t: _Table) -> list[tuple[str, str, str]]:
    """The (name, SQL expression, Arrow type) columns of a mirrored table."""
    return _cols(dialect, t.columns)


def _cols(dialect: str, spec: tuple[tuple[str, str, str], ...]) -> list[tuple[str, str, str]]:
    return [(n, e.format(t=_text(dialect, n)), t) for n, e, t in spec]


TABLES: tuple[_Table, ...] = (
    _Table(
        "sessions", "FROM sessions",
        (("id", "id", "string"), ("app_id", "app_id", "int64"),
         ("client_session_id", "client_session_id", "string"), ("user_id", "user_id", "string"),
         ("anonymous_id", "anonymous_id", "string"), ("platform", "platform", "string"),
         ("app_version", "app_version", "string"), ("started_at", "started_at", "int64"),
         ("last_event_at", "last_event_at", "int64"), ("ended_at", "ended_at", "int64"),
         ("duration_us", "duration_us", "int64"), ("event_count", "event_count", "int64"),
         ("screen_count", "screen_count", "int64"), ("entry_screen", "entry_screen", "string"),
         ("exit_screen", "exit_screen", "string"),
         ("bounced", "CASE WHEN bounced THEN 1 ELSE 0 END", "int64"),
         ("is_open", "CASE WHEN is_open THEN 1 ELSE 0 END", "int64")),
        "SELECT COUNT(*), COALESCE(SUM(event_count), 0), MAX(last_event_at), "
        "SUM(CASE WHEN is_open THEN 1 ELSE 0 END), MAX(ended_at) FROM sessions",
    ),
    _Table(
        "user_profiles", "FROM user_profiles",
        (("app_id", "app_id", "int64"), ("user_id", "user_id", "string"),
         ("traits", "{t}", "string"), ("first_seen", "first_seen", "int64"),
         ("last_seen", "last_seen", "int64")),
        "SELECT COUNT(*), MAX(last_seen), MIN(first_seen) FROM user_profiles",
    ),
    _Table(
        "identity_links", "FROM identity_links",
        (("app_id", "app_id", "int64"), ("anonymous_id", "anonymous_id", "string"),
         ("user_id", "user_id", "string"), ("linked_at", "linked_at", "int64")),
        "SELECT COUNT(*), MAX(linked_at), MAX(id) FROM identity_links",
    ),
    _Table(
        "flags", "FROM flags",
        (("app_id", "app_id", "int64"), ("key", "key", "string"), ("version", "version", "int64"),
         ("definition", "{t}", "string"), ("created_at", "created_at", "int64"),
         ("updated_at", "updated_at", "int64")),
        "SELECT COUNT(*), COALESCE(SUM(version), 0), MAX(updated_at) FROM flags",
    ),
    _Table(
        "cohorts", "FROM cohorts",
        (("id", "id", "int64"), ("app_id", "app_id", "int64"), ("name", "name", "string"),
         ("description", "description", "string"), ("definition", "{t}", "string"),
         ("member_count", "member_count", "int64"), ("refreshed_at", "refreshed_at", "int64")),
        "SELECT COUNT(*), MAX(updated_at), MAX(refreshed_at), COALESCE(SUM(member_count), 0) "
        "FROM cohorts",
    ),
    _Table(
        "cohort_members", "FROM cohort_members m JOIN cohorts c ON c.id = m.cohort_id",
        (("app_id", "c.app_id", "int64"), ("cohort_id", "m.cohort_id", "int64"),
         ("actor", "m.actor", "string"), ("joined_at", "m.joined_at", "int64")),
        "SELECT COUNT(*), MAX(m.joined_at), MAX(c.refreshed_at) "
        "FROM cohort_members m JOIN cohorts c ON c.id = m.cohort_id",
        "c.app_id",
    ),
)  # fmt: skip


@dataclass
class MirrorState:
    """The manifest: per app, its event parts and the id up to which they cover every
    event of the app; per table, its signature and per-app snapshot files."""

    database: str
    parts: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    covered: dict[int, int] = field(default_factory=dict)
    watermark: int = 0
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    trash: list[tuple[float, str]] = field(default_factory=list)
    refreshed_at: int = 0
    #: The sessions job's deletion generation when the mirror was checked: erasure and
    #: retention bump it, which tells a query the mirror may hold deleted rows.
    generation: int = 0

    def to_json(self) -> dict[str, Any]:
        """The manifest document."""
        return {
            "database": self.database, "watermark": self.watermark,
            "covered": {str(k): v for k, v in self.covered.items()},
            "parts": {str(k): v for k, v in self.parts.items()},
            "tables": self.tables, "trash": self.trash, "refreshed_at": self.refreshed_at,
            "generation": self.generation,
        }  # fmt: skip

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> MirrorState:
        """Read a manifest document."""
        return cls(
            database=doc["database"], watermark=int(doc["watermark"]),
            covered={int(k): int(v) for k, v in doc["covered"].items()},
            parts={int(k): list(v) for k, v in doc["parts"].items()},
            tables=dict(doc["tables"]), trash=[tuple(t) for t in doc.get("trash", [])],
            refreshed_at=int(doc.get("refreshed_at", 0)),
            generation=int(doc.get("generation", 0)),
        )  # fmt: skip


@dataclass(frozen=True)
class MirrorResult:
    """What a refresh did."""

    events_added: int
    apps_rebuilt: int
    tables_exported: int
    watermark: int
    seconds: float


def _db_key(settings: Settings) -> str:
    return hashlib.sha256(settings.url.encode()).hexdigest()[:16]


def mirror_root(settings: Settings) -> Path:
    """The mirror folder of this database."""
    return Path(settings.sql.mirror_directory) / _db_key(settings)


def read_state(settings: Settings) -> MirrorState | None:
    """The current manifest, or None before the first refresh."""
    path = mirror_root(settings) / "manifest.json"
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    state = MirrorState.from_json(doc)
    return state if state.database == _db_key(settings) else None


def _write_state(root: Path, state: MirrorState) -> None:
    tmp = root / f".manifest-{os.getpid()}.json"
    tmp.write_text(json.dumps(state.to_json()))
    os.replace(tmp, root / "manifest.json")


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _schema(cols: list[tuple[str, str, str]]) -> Any:
    pa = _pa()
    kinds = {"int64": pa.int64(), "string": pa.string(), "bool": pa.bool_()}
    return pa.schema([(n, kinds[t]) for n, _, t in cols])


def _rows_to_table(rows: list[Any], cols: list[tuple[str, str, str]]) -> Any:
    pa = _pa()
    schema = _schema(cols)
    arrays = [pa.array([r[i] for r in rows], type=schema.field(i).type) for i in range(len(cols))]
    return pa.Table.from_arrays(arrays, schema=schema)


def fetch_table(
    conn: Connection, cols: list[tuple[str, str, str]], source: str, params: dict[str, Any]
) -> Any:
    """Run ``SELECT cols source`` and return an Arrow table (typed even when empty)."""
    sql = f"SELECT {', '.join(e for _, e, _ in cols)} {source}"
    if conn.dialect.name == "postgresql":  # psycopg's placeholders
        for name in params:
            sql = sql.replace(f":{name}", f"%({name})s")
    raw: Any = conn.connection.driver_connection
    cur = raw.cursor()
    try:
        cur.execute(sql, params)
        rows: list[Any] = []
        while True:
            got = cur.fetchmany(_FETCH)
            if not got:
                break
            rows.extend(got)
    finally:
        cur.close()
    return _rows_to_table(rows, cols)


def _write_parquet(table: Any, path: Path) -> None:
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def _append_events(conn: Connection, root: Path, state: MirrorState, cutoff: int | None) -> int:
    """Append arrivals above the watermark as new parts, one per app per chunk."""
    cols = _event_columns(conn.dialect.name)
    added = 0
    while True:
        params: dict[str, Any] = {"lo": state.watermark, "hi": state.watermark + _PART_ROWS}
        where = "WHERE id > :lo AND id <= :hi"
        if cutoff is not None:
            where += " AND received_at <= :cut"
            params["cut"] = cutoff
        table = fetch_table(conn, cols, f"FROM events {where} ORDER BY id", params)
        if table.num_rows == 0:
            top = conn.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM events").scalar_one()
            if int(top) <= params["hi"]:
                return added
            state.watermark = params["hi"]  # a gap of deleted ids: skip it
            continue
        ids = table.column("id").to_pylist()
        hi = max(ids)
        import pyarrow.compute as pc

        for app_id in sorted(set(table.column("app_id").to_pylist())):
            part = table.filter(pc.equal(table.column("app_id"), app_id))
            name = f"app_{app_id}/events/{state.watermark + 1}-{hi}.parquet"
            _write_parquet(part, root / name)
            state.parts.setdefault(app_id, []).append(
                {"file": name, "lo": state.watermark + 1, "hi": hi, "rows": part.num_rows}
            )
        state.watermark = hi
        added += table.num_rows
        for app_id in state.parts:
            state.covered[app_id] = hi


def _deleted_apps(conn: Connection, state: MirrorState) -> list[int]:
    """Apps whose mirrored parts hold more rows than the database now has under the
    same ids (erasure, retention): those apps are rebuilt."""
    mirrored = {a: sum(p["rows"] for p in parts) for a, parts in state.parts.items()}
    if not mirrored:
        return []
    counts: dict[Any, Any] = dict(
        conn.exec_driver_sql(
            f"SELECT app_id, COUNT(*) FROM events WHERE id <= {int(state.watermark)} "
            "GROUP BY app_id"
        ).all()
    )
    return [a for a, n in mirrored.items() if int(counts.get(a, 0)) != n]


def _rebuild_app(conn: Connection, root: Path, state: MirrorState, app_id: int) -> None:
    cols = _event_columns(conn.dialect.name)
    old = state.parts.pop(app_id, [])
    state.trash.extend((time.time(), p["file"]) for p in old)
    lo = 0
    stamp = int(time.time())
    while lo < state.watermark:
        hi = min(lo + 5 * _PART_ROWS, state.watermark)
        table = fetch_table(
            conn, cols, "FROM events WHERE app_id = :app AND id > :lo AND id <= :hi ORDER BY id",
            {"app": app_id, "lo": lo, "hi": hi},
        )  # fmt: skip
        if table.num_rows:
            name = f"app_{app_id}/events/{lo + 1}-{hi}-r{stamp}.parquet"
            _write_parquet(table, root / name)
            state.parts.setdefault(app_id, []).append(
                {"file": name, "lo": lo + 1, "hi": hi, "rows": table.num_rows}
            )
        lo = hi
    state.covered[app_id] = state.watermark


def _merge_small(root: Path, state: MirrorState) -> None:
    """Merge an app's run of small parts into one file (fewer files to open)."""
    import pyarrow.parquet as pq

    pa = _pa()
    for app_id, parts in state.parts.items():
        small = [p for p in parts if p["rows"] < _MERGE_BELOW]
        if len(small) < 8:
            continue
        table = pa.concat_tables([pq.read_table(root / p["file"]) for p in small])
        lo, hi = min(p["lo"] for p in small), max(p["hi"] for p in small)
        name = f"app_{app_id}/events/{lo}-{hi}-m{int(time.time())}.parquet"
        _write_parquet(table, root / name)
        keep = [p for p in parts if p not in small]
        state.parts[app_id] = sorted(
            [*keep, {"file": name, "lo": lo, "hi": hi, "rows": table.num_rows}],
            key=lambda p: p["lo"],
        )
        state.trash.extend((time.time(), p["file"]) for p in small)


def _export_tables(conn: Connection, root: Path, state: MirrorState) -> int:
    import pyarrow.compute as pc

    exported = 0
    for t in TABLES:
        sig = [str(v) for v in conn.exec_driver_sql(t.signature).one()]
        known = state.tables.get(t.name)
        if known is not None and known.get("signature") == sig:
            continue
        cols = _cols(conn.dialect.name, t.columns)
        table = fetch_table(conn, cols, t.select, {})
        stamp = f"{int(time.time() * 1000)}"
        files: dict[str, str] = {}
        for app_id in sorted(set(table.column("app_id").to_pylist())):
            part = table.filter(pc.equal(table.column("app_id"), app_id))
            name = f"app_{app_id}/{t.name}-{stamp}.parquet"
            _write_parquet(part, root / name)
            files[str(app_id)] = name
        if known is not None:
            state.trash.extend((time.time(), f) for f in known.get("files", {}).values())
        state.tables[t.name] = {"signature": sig, "files": files}
        exported += 1
    return exported


def _empty_trash(root: Path, state: MirrorState) -> None:
    now = time.time()
    keep = []
    for at, name in state.trash:
        if now - at > _GRACE:
            with contextlib.suppress(FileNotFoundError):
                (root / name).unlink()
        else:
            keep.append((at, name))
    state.trash = keep


def refresh(engine: Engine, settings: Settings) -> MirrorResult:
    """Bring the mirror up to date with the database (see the module docstring).
    Safe to run from several processes: one refresh at a time holds the lock."""
    _pa()
    started = time.perf_counter()
    root = mirror_root(settings)
    with _locked(root):
        state = read_state(settings) or MirrorState(database=_db_key(settings))
        cutoff = None
        if engine.dialect.name == "postgresql":  # ids are taken before commit
            cutoff = now_us() - int(settings.aggregation.settle_seconds * US_PER_SECOND)
        with map_db_errors(), engine.connect() as conn, conn.begin():
            state.generation = deletion_generation(conn)
            gone = _deleted_apps(conn, state)
            for app_id in gone:
                _rebuild_app(conn, root, state, app_id)
            added = _append_events(conn, root, state, cutoff)
            exported = _export_tables(conn, root, state)
        _merge_small(root, state)
        _empty_trash(root, state)
        state.refreshed_at = now_us()
        _write_state(root, state)
    return MirrorResult(
        events_added=added, apps_rebuilt=len(gone), tables_exported=exported,
        watermark=state.watermark, seconds=time.perf_counter() - started,
    )  # fmt: skip


def deletion_generation(conn: Connection) -> int:
    """A counter erasure and retention bump whenever they delete events (the sessions
    job's generation, ``eventkit.privacy.rollups.lock_jobs``)."""
    value = conn.exec_driver_sql(
        "SELECT value FROM session_state WHERE name = 'generation'"
    ).scalar()
    return int(value or 0)
