"""WAU and MAU for windows that end today when nobody has been active yet today: the
rollup job stores them (once per app and day), so "the last 30 days up to now" stays
a lookup, and they equal a straightforward distinct count over the raw events, late
events for earlier days included."""

from __future__ import annotations

import random

from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.aggregation import aggregate
from eventkit.config import AggregationSettings, Settings
from eventkit.reports import ReportsService
from eventkit.reports.params import ReportParams, run_report
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from eventkit.timeutil import US_PER_DAY, now_us
from tests.factories import make_event


def stored(engine: Engine, app_id: int, day: int) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT dim, count FROM rollup_counts WHERE app_id = :a AND period = 'd' "
                "AND bucket = :d AND name = '' AND dim IN ('$wau', '$mau') AND value = ''"
            ),
            {"a": app_id, "d": day},
        ).all()
    return {str(d): int(n) for d, n in rows}


def test_windows_ending_today_are_stored_and_exact(
    engine: Engine, settings: Settings, agg: AggregationSettings
) -> None:
    rng = random.Random(4)
    store = EventStore(engine)
    app = create_app(engine, "quiet").app_id
    other = create_app(engine, "other").app_id
    now = now_us()
    today = now - now % US_PER_DAY
    seen: list[tuple[str, int]] = []
    events = []
    for _ in range(300):
        user = f"u{rng.randrange(60)}"
        ts = today - rng.randrange(1, 40) * US_PER_DAY + rng.randrange(US_PER_DAY)
        events.append(make_event(app, user_id=user, anonymous_id=None, ts=ts, timestamp=ts))
        seen.append((user, ts))
    events.append(make_event(other, user_id="x", ts=today - US_PER_DAY))
    store.write(events)
    aggregate(engine, agg)

    def want(days: int) -> int:
        return len({u for u, ts in seen if ts >= today - (days - 1) * US_PER_DAY})

    assert stored(engine, app, today) == {"$wau": want(7), "$mau": want(30)}
    # The active-users report for a range that ends now reads them.
    svc = ReportsService(engine, settings)
    report = run_report(svc, "active", app, ReportParams(since="30d"))
    assert (report.meta["wau"], report.meta["mau"]) == (want(7), want(30))
    # A late event for yesterday (still nobody today) updates today's windows.
    late = today - US_PER_DAY + 5
    store.write([make_event(app, user_id="late-user", anonymous_id=None, ts=late, timestamp=late)])
    seen.append(("late-user", late))
    aggregate(engine, agg)
    assert stored(engine, app, today) == {"$wau": want(7), "$mau": want(30)}
    report = run_report(svc, "active", app, ReportParams(since="30d"))
    assert (report.meta["wau"], report.meta["mau"]) == (want(7), want(30))

    # Midnight passes with nobody active: no batch runs, yet the next run stores the
    # windows of the new day (here: today's rows removed, as before the first run).
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM rollup_counts WHERE bucket = :d AND dim IN ('$wau', '$mau')"),
            {"d": today},
        )
    assert aggregate(engine, agg).events == 0
    assert stored(engine, app, today) == {"$wau": want(7), "$mau": want(30)}
    assert stored(engine, other, today) == {"$wau": 1, "$mau": 1}
