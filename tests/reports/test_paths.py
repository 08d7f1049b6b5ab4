"""Paths against a plain-Python computation over the raw events and their sessions,
with late and duplicate events, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.aggregation import aggregate
from eventkit.config import Settings
from eventkit.demo import SimulationConfig, simulate
from eventkit.errors import InvalidRequestError
from eventkit.reports import ReportQuery, ReportsService
from eventkit.reports.paths import OTHER, PathsSpec
from eventkit.sessions.backfill import CURSOR, UNTIL, backfill_step
from eventkit.sessions.job import run_sessions_job
from eventkit.storage.apps import create_app
from eventkit.storage.engine import make_engine
from eventkit.storage.events import EventStore
from eventkit.storage.migrate import upgrade
from eventkit.timeutil import US_PER_DAY, US_PER_SECOND
from tests.reports import paths_oracle
from tests.reports.conftest import END, late_event

DAYS = 14
SINCE = END - DAYS * US_PER_DAY


@pytest.fixture
def shop(engine: Engine, settings: Settings) -> Engine:
    """Simulated traffic with failed payments, sessionized, half rolled up."""
    create_app(engine, "demo")
    cfg = SimulationConfig(users=160, days=DAYS + 2, seed=11, end=END, checkout=True)
    simulate(EventStore(engine), 1, cfg)
    agg = settings.aggregation.model_copy(update={"settle_seconds": 0.0, "batch_events": 2000})
    aggregate(engine, agg, max_batches=2)  # the rest stays in the raw tail
    run_sessions_job(engine, _now_settings(settings), now=END)
    return engine


def _now_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"sessions": settings.sessions.model_copy(update={"settle_seconds": 0.0,
                                                                 "subprocess": False})}
    )  # fmt: skip


def _started(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            str(i): int(s) for i, s in conn.execute(text("SELECT id, started_at FROM sessions"))
        }


def check(engine: Engine, settings: Settings, **kw: Any) -> dict[str, Any]:
    spec = PathsSpec(**kw)
    q = ReportQuery(app_id=1, since=SINCE, until=END)
    report = ReportsService(engine, settings).paths(q, spec)
    want = paths_oracle.all_paths(
        engine, started=_started(engine), since=SINCE, until=END, after=spec.after,
        before=spec.before, steps=spec.steps, by=spec.by,
    )  # fmt: skip
    through, ended = paths_oracle.tree(want, spec.steps)
    assert report.meta["sessions"] == len(want)
    assert len(want) > 0
    by_parent: dict[tuple[str, ...], int] = {}
    parsed = [(tuple(r["path"].split(" ← " if spec.before else " → ")), r) for r in report.rows]
    for nodes, row in parsed:
        if OTHER in nodes[:-1]:
            raise AssertionError("(other) is never expanded")
        parent = nodes[:-1]
        if nodes[-1] == OTHER:
            siblings = [k for k in through if k[:-1] == parent]
            kept = {n[-1] for n, _ in parsed if n[:-1] == parent and n[-1] != OTHER}
            assert len(kept) == spec.limit
            rest = [k for k in siblings if k[-1] not in kept]
            assert row["sessions"] == sum(through[k] for k in rest)
            assert row["ended"] == sum(ended[k] for k in rest)
        else:
            assert row["sessions"] == through[nodes], nodes
            assert row["ended"] == ended[nodes], nodes
        by_parent[parent] = by_parent.get(parent, 0) + row["sessions"]
    # children at most `limit` kept (+ other), and they add up to the sessions that went on
    for parent, total in by_parent.items():
        went_on = len(want) if not parent else through[parent] - ended[parent]
        if len(parent) < spec.steps:
            assert total == went_on, parent
    return report.meta


CASES: list[dict[str, Any]] = [
    {"after": "payment_failed"},
    {"after": "payment_failed", "by": "event", "steps": 4, "limit": 3},
    {"before": "purchase_completed", "by": "event", "steps": 3},
    {"before": "cart", "steps": 4},
    {"steps": 4, "limit": 2},
    {"by": "event", "steps": 6},
]


def test_paths_match_the_oracle_with_late_and_duplicate_events(
    shop: Engine, settings: Settings
) -> None:
    for case in CASES:
        check(shop, settings, **case)
    # A late payment failure inside an old session, its retry duplicated, and a late
    # screen after it; then the sessions job takes them in.
    with shop.connect() as conn:
        device, start = conn.execute(
            text("SELECT device_key, started_at FROM sessions WHERE started_at > :s "
                 "ORDER BY started_at LIMIT 1"), {"s": SINCE + US_PER_DAY}
        ).one()  # fmt: skip
    late = [
        msgspec.structs.replace(e, user_id=None, anonymous_id=device)
        for e in (
            late_event("payment_failed", start + 5 * US_PER_SECOND, "x", reason="late"),
            late_event("$screen", start + 6 * US_PER_SECOND, "x", screen_name="late-help"),
        )
    ]
    # Two screens and an event at the very same time: the event id orders them, as in
    # the sessions' own timeline (paths read ids only for such ties).
    tied = [
        msgspec.structs.replace(e, user_id=None, anonymous_id=device)
        for e in (
            late_event("$screen", start + 7 * US_PER_SECOND, "x", screen_name=f"tie-{i}")
            for i in range(3)
        )
    ]
    tied.append(msgspec.structs.replace(tied[0], event_id=uuid.uuid4(), name="tie_tapped"))
    store = EventStore(shop)
    assert store.write(late) == [True, True]
    assert store.write(late) == [False, False]  # a retry: duplicates, not stored
    assert all(store.write(tied))
    run_sessions_job(shop, _now_settings(settings), now=END)
    for case in CASES:
        check(shop, settings, **case)
    # after the late screen: the three tied screens, in event-id order
    assert check(shop, settings, after="late-help", steps=4)["top_paths"] == [
        {"path": ["late-help", *(e.properties["screen_name"]
                               for e in sorted(tied[:3], key=lambda e: e.event_id.bytes))],
         "sessions": 1}
    ]  # fmt: skip


def test_rows_from_before_the_name_columns_answer_the_same_during_their_backfill(
    shop: Engine, settings: Settings
) -> None:
    """Rows stored before migration 0010 have no name or screen: paths read those from
    events until the sessions job has filled them in, a batch at a time."""
    with shop.connect() as conn:
        written = set(conn.execute(text("SELECT event_pk, name, screen FROM event_sessions")).all())
        assert sum(1 for _, _, scr in written if scr is not None) > 100
    with shop.begin() as conn:
        conn.execute(text("UPDATE event_sessions SET name = NULL, screen = NULL"))
        conn.execute(text("INSERT INTO session_state (name, value) VALUES (:n, :v)"),
                     {"n": UNTIL, "v": max(pk for pk, _, _ in written)})  # fmt: skip
    for case in CASES[:3]:
        check(shop, settings, **case)
    assert backfill_step(shop, batch=len(written) // 2) == len(written) // 2
    with shop.connect() as conn:
        nulls = conn.execute(text("SELECT COUNT(*) FROM event_sessions WHERE name IS NULL"))
        assert nulls.scalar() == len(written) - len(written) // 2
    for case in CASES:
        check(shop, settings, **case)
    run_sessions_job(shop, _now_settings(settings), now=END)  # finishes the backfill
    with shop.connect() as conn:
        assert (
            set(conn.execute(text("SELECT event_pk, name, screen FROM event_sessions"))) == written
        )
        left = conn.execute(text("SELECT COUNT(*) FROM session_state WHERE name IN (:c, :u)"),
                            {"c": CURSOR, "u": UNTIL})  # fmt: skip
        assert left.scalar() == 0
    for case in CASES:
        check(shop, settings, **case)


def test_the_migration_records_where_the_backfill_ends(settings: Settings) -> None:
    engine = make_engine(settings)
    upgrade(engine, "0009_session_days")
    with engine.begin() as conn:
        for pk in (3, 7, 5):
            conn.execute(text("INSERT INTO event_sessions (event_pk, app_id, device_key, ts) "
                              "VALUES (:pk, 1, 'd', :pk)"), {"pk": pk})  # fmt: skip
    upgrade(engine)
    with engine.connect() as conn:
        state = dict(conn.execute(text("SELECT name, value FROM session_state")).all())
    assert state == {UNTIL: 7}
    engine.dispose()


def test_bad_specs_say_what_to_fix() -> None:
    with pytest.raises(InvalidRequestError, match="not both"):
        PathsSpec(after="a", before="b")
    with pytest.raises(InvalidRequestError, match="between 2 and 20"):
        PathsSpec(steps=1)
    with pytest.raises(InvalidRequestError, match="screen or event"):
        PathsSpec(by="page")  # type: ignore[arg-type]
