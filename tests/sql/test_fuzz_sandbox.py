"""Hypothesis fuzzing of the SQL sandbox: statements built from writes, DDL, escapes
and reads of every table eventkit owns, in any case, with comments and whitespace.
Whatever the statement, the database is unchanged afterwards, no secret (keys,
tokens, another app's rows) is ever returned or quoted, and reading a table that is
not a documented relation is refused.

``FUZZ_EXAMPLES`` sets the examples per test (60 here; ``make fuzz`` runs more).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventkit.errors import EventKitError, QueryError
from eventkit.sql.runner import collect, open_query
from eventkit.storage.models import metadata
from eventkit.storage.relations import RELATIONS
from tests.sql.conftest import World
from tests.sql.test_sandbox import snapshot

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
RELATION_NAMES = [r.name for r in RELATIONS]
PRIVATE = [*sorted(set(metadata.tables) - set(RELATION_NAMES)), "sqlite_master", "pg_authid"]

TEMPLATES = [
    "DELETE FROM {t}", "UPDATE {t} SET name = 'x'", "INSERT INTO {t} DEFAULT VALUES",
    "DROP TABLE {t}", "CREATE TABLE {t}_copy AS SELECT 1 AS x", "ALTER TABLE {t} RENAME TO z",
    "TRUNCATE {t}", "VACUUM", "REINDEX {t}", "ANALYZE {t}", "GRANT ALL ON {t} TO PUBLIC",
    "COPY {t} TO STDOUT", "LOCK TABLE {t}", "PRAGMA {t}", "ATTACH '{t}.db' AS x",
    "SELECT 1; DELETE FROM {t}", "EXPLAIN DELETE FROM {t}", "SET ROLE postgres",
    "BEGIN; DELETE FROM {t}; COMMIT", "SAVEPOINT s", "DO $$ BEGIN DELETE FROM {t}; END $$",
    "SELECT set_config('role', 'postgres', false)", "SELECT pg_advisory_lock(42)",
    "WITH q AS (DELETE FROM {t} RETURNING 1) SELECT * FROM q",
    "SELECT * FROM {t}", "SELECT * FROM main.{t}", 'SELECT * FROM "public".{t}',
    "SELECT (SELECT COUNT(*) FROM {t})", "SELECT * FROM events e JOIN {t} x ON 1 = 1",
    "WITH q AS (SELECT * FROM {t}) SELECT * FROM q", "SELECT * FROM events UNION SELECT * FROM {t}",
]  # fmt: skip


@st.composite
def statements(draw: st.DrawFn) -> tuple[str, bool]:
    table = draw(st.sampled_from(PRIVATE + RELATION_NAMES))
    template = draw(st.sampled_from(TEMPLATES))
    sql = template.format(t=table)
    # A read of a table that is not a relation must be refused; any other statement
    # may fail or be a no-op (REINDEX of a table without indexes), as long as nothing
    # changes and nothing leaks.
    private = template.startswith(("SELECT *", "SELECT (", "WITH q AS (SELECT")) and (
        table not in RELATION_NAMES
    )
    words = sql.split(" ")
    case = draw(st.sampled_from([str.lower, str.upper, str, str.swapcase]))
    sep = draw(st.sampled_from([" ", "  ", "\n", " /* x */ ", "\t"]))
    return sep.join(case(w) if not w.startswith(("'", '"')) else w for w in words), private


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=statements())
def test_no_statement_changes_or_leaks_anything(world: World, case: tuple[str, bool]) -> None:
    sql, private = case
    before = snapshot(world)
    error: QueryError | None = None
    try:
        with open_query(world.engine, world.settings, world.a, sql) as stream:
            rows = collect(stream)
    except QueryError as exc:
        error = exc
    except EventKitError as exc:  # pragma: no cover - any other error is a bug here
        raise AssertionError(f"{sql!r} raised {exc!r}") from exc
    if error is not None:
        assert error.message
        assert all(s not in error.message for s in world.secrets)
    else:
        assert not private, f"{sql!r} touched a table that is not a relation"
        assert all(s not in repr(rows) for s in world.secrets), sql
    assert snapshot(world) == before, sql
