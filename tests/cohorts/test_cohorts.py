"""Cohort membership against a plain-Python computation over the raw events: every
kind of condition, incremental refreshes equal to full ones, late and duplicate
events, erasure, and cohort-filtered reports, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.aggregation import aggregate
from eventkit.cohorts import create_cohort, iter_members, parse_spec, refresh_cohort
from eventkit.cohorts.store import delete_cohort, erase_actors, list_cohorts
from eventkit.config import Settings
from eventkit.demo import SimulationConfig, simulate
from eventkit.errors import ConflictError, InvalidRequestError, NotFoundError
from eventkit.reports import ReportQuery, ReportsService
from eventkit.reports.params import ReportParams, run_report
from eventkit.reports.query import bucket_start, iso
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from eventkit.timeutil import US_PER_DAY
from tests import cohorts_oracle
from tests.reports.conftest import END, late_event

DAYS = 20
NOW = END


@pytest.fixture
def demo(engine: Engine, settings: Settings) -> tuple[Engine, Settings]:
    agg = settings.aggregation.model_copy(update={"settle_seconds": 0.0, "batch_events": 3000})
    s = settings.model_copy(update={"aggregation": agg})
    create_app(engine, "demo")
    simulate(EventStore(engine), 1, SimulationConfig(users=150, days=DAYS, seed=9, end=END,
                                                     checkout=True))  # fmt: skip
    aggregate(engine, agg, max_batches=2)  # part rolled up, part in the tail
    return engine, s


CASES: dict[str, dict[str, Any]] = {
    "searched-week1": {"conditions": [
        {"type": "event", "event": "search_performed", "min_count": 1, "within_days": 7}]},
    "heavy-searchers": {"conditions": [
        {"type": "event", "event": "search_performed", "min_count": 5}]},
    "never-bought": {"conditions": [
        {"type": "event", "event": "purchase_completed", "min_count": 0, "max_count": 0}]},
    "failed-lately": {"conditions": [
        {"type": "event", "event": "payment_failed", "within_days": 5, "of": "now"}]},
    "new-ios": {"match": "all", "conditions": [
        {"type": "first_seen", "since": "2026-06-20", "until": "2026-06-28"},
        {"type": "property", "attribute": "platform", "operator": "eq", "value": "ios"}]},
    "onboarded-not-paid": {"conditions": [
        {"type": "funnel", "steps": ["signup_completed", "onboarding_completed",
                                     "purchase_completed"], "step": 3, "status": "dropped",
         "window_days": 7}]},
    "either": {"match": "any", "conditions": [
        {"type": "event", "event": "payment_failed"},
        {"type": "first_seen", "since": "3d"}]},
}  # fmt: skip


def stored(engine: Engine, name: str) -> set[str]:
    return {a for a, _ in iter_members(engine, "demo", name)}


def expect(engine: Engine, name: str) -> set[str]:
    d = CASES[name]
    return cohorts_oracle.members(engine, d["conditions"], match=d.get("match", "all"), now=NOW)


def test_membership_matches_the_oracle(demo: tuple[Engine, Settings]) -> None:
    engine, s = demo
    for name, doc in CASES.items():
        create_cohort(engine, s, "demo", name, parse_spec(doc))
        refresh_cohort(engine, s, "demo", name, full=True, now=NOW)
        want = expect(engine, name)
        assert want, name  # every case selects someone on this data
        assert stored(engine, name) == want, name
    # Late events for two actors, one of them retried (a duplicate), then incremental
    # refreshes: they look only at the actors who changed and agree with the oracle.
    late = [late_event("search_performed", END - 18 * US_PER_DAY + i, "late-searcher")
            for i in range(6)]  # fmt: skip
    late.append(late_event("payment_failed", END - US_PER_DAY, "user-0000003"))
    assert all(EventStore(engine).write(late))
    assert not any(EventStore(engine).write(late))
    for name in CASES:
        result = refresh_cohort(engine, s, "demo", name, now=NOW)
        assert result.mode == ("full" if name in ("failed-lately", "either") else "incremental")
        assert stored(engine, name) == expect(engine, name), name
    assert "late-searcher" in stored(engine, "heavy-searchers")
    aggregate(engine, s.aggregation)  # everything rolled up: same members
    for name in CASES:
        refresh_cohort(engine, s, "demo", name, full=True, now=NOW)
        assert stored(engine, name) == expect(engine, name), name


def test_cohort_filtered_reports_match_the_oracle(demo: tuple[Engine, Settings]) -> None:
    engine, s = demo
    create_cohort(engine, s, "demo", "searched-week1", parse_spec(CASES["searched-week1"]))
    refresh_cohort(engine, s, "demo", "searched-week1", full=True, now=NOW)
    members = stored(engine, "searched-week1")
    # Late events (and a retried duplicate) of members on days already rolled up: the
    # fast path counts them from the tail without counting their actors twice.
    evs = cohorts_oracle.events(engine)
    rolled_days = sorted({(ts - ts % US_PER_DAY, a) for ts, a, _ in evs if a in members})
    late = [late_event("search_performed", day + 3_600_000_000 + i, actor)
            for i, (day, actor) in enumerate(rolled_days[:40:4])]  # fmt: skip
    assert all(EventStore(engine).write(late))
    assert not any(EventStore(engine).write(late[:3]))
    evs = cohorts_oracle.events(engine)
    svc = ReportsService(engine, s)
    since = END - DAYS * US_PER_DAY
    for event in (None, "search_performed"):
        for measure in ("count", "users"):
            for interval in ("day", "week", "month", "hour"):
                p = ReportParams(since=_iso(since), until=_iso(END), interval=interval,
                                 measure=measure, cohort="searched-week1", event=event)  # fmt: skip
                report = run_report(svc, "trends", 1, p)
                q = ReportQuery(app_id=1, since=since, until=END, interval=interval)
                rel = [(ts, a) for ts, a, n in evs if a in members and q.start <= ts < q.end
                       and (event is None or n == event)]  # fmt: skip
                counts: dict[str, int] = {}
                actors: dict[str, set[str]] = {}
                for ts, a in rel:
                    b = iso(bucket_start(ts, interval), interval)
                    counts[b] = counts.get(b, 0) + 1
                    actors.setdefault(b, set()).add(a)
                want = counts if measure == "count" else {b: len(v) for b, v in actors.items()}
                got = {r["bucket"]: r[measure] for r in report.rows if r[measure]}
                assert got == want, (event, measure, interval)
                total = len(rel) if measure == "count" else len({a for _, a in rel})
                assert report.meta["total"] == total, (event, measure, interval)
                assert report.meta["cohort"] == "searched-week1"
    # the raw path (a breakdown) gives the same total as the fast path
    p = ReportParams(since=_iso(since), until=_iso(END), by="platform", cohort="searched-week1")
    by = run_report(svc, "trends", 1, p)
    plain = run_report(svc, "trends", 1, ReportParams(since=_iso(since), until=_iso(END),
                                                       cohort="searched-week1"))  # fmt: skip
    assert sum(r["count"] for r in by.rows) == plain.meta["total"]
    funnel = run_report(svc, "funnel", 1, ReportParams(
        since=_iso(since), until=_iso(END), cohort="searched-week1",
        steps=["signup_completed", "onboarding_completed"], window="7d"))  # fmt: skip
    assert funnel.meta["entered"] <= len(members)
    with pytest.raises(NotFoundError, match="no cohort named 'nope'"):
        run_report(svc, "trends", 1, ReportParams(cohort="nope"))


def _iso(us: int) -> str:
    from eventkit.timeutil import from_us

    return from_us(us).isoformat()


def test_erasure_and_lifecycle(demo: tuple[Engine, Settings]) -> None:
    engine, s = demo
    spec = parse_spec(CASES["heavy-searchers"])
    create_cohort(engine, s, "demo", "heavy", spec)
    with pytest.raises(ConflictError):
        create_cohort(engine, s, "demo", "heavy", spec)
    victim = sorted(stored(engine, "heavy"))[0]
    with engine.begin() as conn:
        assert erase_actors(conn, 1, [victim]) == 1
    assert victim not in stored(engine, "heavy")
    assert [c.member_count for c in list_cohorts(engine, "demo")] == [len(stored(engine, "heavy"))]
    delete_cohort(engine, "demo", "heavy")
    assert list_cohorts(engine, "demo") == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM cohort_members")).scalar() == 0


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"conditions": []}, "at least one condition"),
        ({"conditions": [{"type": "event"}]}, "name the event"),
        ({"conditions": [{"type": "funnel", "steps": ["a"], "step": 1}]}, r"2\+ steps"),
        ({"conditions": [{"type": "property", "attribute": "x", "operator": "like"}]}, "operator"),
        ({"conditions": [{"type": "first_seen", "since": "yesterday"}]}, "cannot read the time"),
        ({"conditions": [{"type": "nope"}]}, "invalid cohort definition"),
    ],
)
def test_bad_definitions_say_what_to_fix(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        parse_spec(msgspec.json.encode(doc))
