"""Release health against the oracle (plain Python over raw events), with late and
duplicate events, on SQLite and PostgreSQL; and the first-seen annotations."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.releases import list_annotations, run_releases
from eventkit.reports.query import ReportQuery
from eventkit.reports.releases import health, releases
from eventkit.sessions.job import run_sessions_job
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from eventkit.timeutil import US_PER_DAY, from_us
from tests.releases import oracle
from tests.releases.dataset import END, RELEASE_DAY, START, dataset, late_events


@pytest.fixture
def jobs(settings: Settings) -> Settings:
    """Settings whose jobs fold in events as soon as they are committed."""
    return settings.model_copy(
        update={
            "sessions": settings.sessions.model_copy(update={"settle_seconds": 0.0}),
            "releases": settings.releases.model_copy(update={"settle_seconds": 0.0}),
        }
    )


@pytest.fixture
def loaded(engine: Engine, jobs: Settings) -> Engine:
    create_app(engine, "demo")
    EventStore(engine).write(dataset())
    run_releases(engine, jobs.releases)
    run_sessions_job(engine, jobs, now=END + US_PER_DAY)
    return engine


def _check(engine: Engine, s: int, e: int, *, sessions: bool = True) -> None:
    rows = oracle.load(engine)
    want = {k: v for k, v in oracle.health(rows, s, e).items() if v.users or v.sessions}
    with engine.connect() as conn:
        got, total = health(conn, 1, s, e)
    assert total == len({r.actor for r in rows if r.actor and s <= r.ts < e})
    assert {(h.app_version, h.platform) for h in got} == set(want)
    firsts = oracle.first_seen(rows)
    for h in got:
        w = want[(h.app_version, h.platform)]
        assert (h.users, h.crashed_users) == (len(w.users), len(w.crashed_users)), h
        assert (h.errors, h.crashes) == (w.errors, w.crashes), h
        if h.app_version:
            assert h.first_seen == firsts[(h.app_version, h.platform)]
        if sessions:
            assert (h.sessions, h.crashed_sessions) == (
                len(w.sessions), len(w.crashed_sessions)), h  # fmt: skip


def test_matches_the_oracle_over_ranges(loaded: Engine) -> None:
    _check(loaded, START, END)
    _check(loaded, START + RELEASE_DAY * US_PER_DAY, END)
    # A range that is not whole days (an hourly alert bucket) reads the raw events.
    _check(
        loaded,
        START + 7 * US_PER_DAY + 3_600_000_000 * 5,
        START + 7 * US_PER_DAY + 3_600_000_000 * 9,
    )


def test_late_and_duplicate_events(loaded: Engine, jobs: Settings) -> None:
    store = EventStore(loaded)
    again = dataset()[:50]  # the same ids: duplicates, never stored twice
    assert sum(store.write(again)) == 0
    store.write(late_events())
    # Before any job runs, the tail (ids above the watermark) carries the late events.
    _check(loaded, START - 5 * US_PER_DAY, END, sessions=False)
    run_sessions_job(loaded, jobs, now=END + US_PER_DAY)
    _check(loaded, START - 5 * US_PER_DAY, END)  # issues from the tail, sessions stored
    run_releases(loaded, jobs.releases)
    _check(loaded, START - 5 * US_PER_DAY, END)


def test_the_new_ios_version_crashes_more(loaded: Engine) -> None:
    q = ReportQuery(app_id=1, since=START + RELEASE_DAY * US_PER_DAY, until=END)
    with loaded.connect() as conn:
        report = releases(conn, q)
    by = {(r["app_version"], r["platform"]): r for r in report.rows}
    assert by[("1.1", "ios")]["crash_free_users_pct"] < by[("1.0", "ios")]["crash_free_users_pct"]
    assert report.meta["latest"] == {"ios": "1.1", "android": "2.1"}
    with loaded.connect() as conn:
        latest = releases(conn, q, version="latest", platform="ios")
    assert [r["app_version"] for r in latest.rows] == ["1.1"]
    # Adoption: each day's share of active users, as the oracle counts it.
    rows = oracle.load(loaded)
    want = oracle.adoption(rows, q.start, q.end)
    for a in report.meta["adoption"]:
        key = next(k for k in want if k[1:] == (a["app_version"], a["platform"])
                   and from_us(k[0]).date().isoformat() == a["bucket"])  # fmt: skip
        users, total = want[key]
        assert a["users"] == users
        assert a["share_pct"] == round(100.0 * users / total, 2)
    assert len(report.meta["adoption"]) == len(want)


def test_new_versions_are_annotated_once(loaded: Engine, jobs: Settings) -> None:
    notes = list_annotations(loaded, 1, 0, END * 2)
    texts = sorted(n.text for n in notes)
    assert texts == ["1.0 (ios) first seen", "1.1 (ios) first seen", "2.0 (android) first seen",
                     "2.1 (android) first seen"]  # fmt: skip
    first = {n.text: n.ts for n in notes}
    EventStore(loaded).write(late_events())
    run_releases(loaded, jobs.releases)
    again = list_annotations(loaded, 1, 0, END * 2)
    assert len(again) == 4  # no duplicates
    moved = {n.text: n.ts for n in again}
    assert moved["1.0 (ios) first seen"] == START - 3 * US_PER_DAY < first["1.0 (ios) first seen"]


def test_erasure_removes_the_users_rows(loaded: Engine) -> None:
    from eventkit.releases.rollup import erase_actors

    with loaded.begin() as conn:
        removed = erase_actors(conn, 1, "user-1", ["dev-1"])
    assert removed["release_user_days"] > 0
    with loaded.connect() as conn:
        got, _ = health(conn, 1, START, END)
        left = conn.execute(
            text("SELECT COUNT(*) FROM release_user_days WHERE actor IN ('user-1', 'dev-1')")
        ).scalar_one()
    assert left == 0 and sum(h.users for h in got) > 0
