"""Overview: figures checked against plain SQL on the demo events; empty states."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from eventkit.timeutil import US_PER_DAY
from eventkit.tui.widgets.empty import EmptyState
from eventkit.tui.widgets.stat import StatCard
from tests.tui.conftest import MakeApp, dashboard_app, new_event, settle, text_of
from tests.tui.dataset import END
from tests.tui.oracle import rows, scalar


async def test_overview_figures_match_the_events(make_app: MakeApp, demo_engine: Engine) -> None:
    app = make_app()
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        midnight = END - END % US_PER_DAY
        today = scalar(demo_engine, "SELECT COUNT(*) FROM events WHERE ts >= :s AND ts < :e",
                       s=midnight, e=END)  # fmt: skip
        assert f"{today:,}" in text_of(app.screen.query_one("#stat-today", StatCard))
        sessions = scalar(
            demo_engine, "SELECT COUNT(*) FROM sessions WHERE started_at >= :s AND started_at < :e",
            s=END - US_PER_DAY, e=END,
        )  # fmt: skip
        assert f"{sessions:,}" in text_of(app.screen.query_one("#stat-sessions", StatCard))
        mau = scalar(
            demo_engine,
            "SELECT COUNT(DISTINCT COALESCE(user_id, anonymous_id)) FROM events "
            "WHERE ts >= :s AND ts < :e",
            s=midnight - 29 * US_PER_DAY,
            e=midnight + US_PER_DAY,
        )  # fmt: skip  (the 30 days ending with today, as `eventkit report active`)
        assert text_of(app.screen.query_one("#stat-mau", StatCard)).split("\n")[1] == f"{mau:,}"
        week_start = midnight - 7 * US_PER_DAY  # since now-7d, snapped to its day
        top = rows(demo_engine, "SELECT name, COUNT(*) c FROM events WHERE ts >= :s AND ts < :e "
                   "GROUP BY name ORDER BY c DESC, name LIMIT 3", s=week_start,
                   e=midnight + US_PER_DAY)  # fmt: skip
        shown = text_of(app.screen.query_one("#top-events")).splitlines()
        for (name, count), line in zip(top, shown, strict=False):
            assert line.startswith(name) and f"{count:,}" in line
        minute = scalar(
            demo_engine,
            "SELECT COUNT(*) FROM events WHERE ts >= :s AND ts <= :e",
            s=END - 59 * 60_000_000,
            e=END,
        )  # fmt: skip  (END is on a minute)
        assert text_of(app.screen.query_one("#rate-note")).startswith(f"{minute:,} events")
        assert not app.screen.query_one(EmptyState).display


async def test_no_app_explains_how_to_start(empty_engine: tuple[Engine, object]) -> None:
    engine, settings = empty_engine
    app = dashboard_app(engine, settings, None)  # type: ignore[arg-type]
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        hint = app.screen.query_one(EmptyState)
        assert hint.display and "eventkit demo" in text_of(hint)


async def test_app_without_events_explains_how_to_send_one(
    empty_engine: tuple[Engine, object],
) -> None:
    engine, settings = empty_engine
    create_app(engine, "fresh")
    app = dashboard_app(engine, settings, "fresh")  # type: ignore[arg-type]
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        hint = app.screen.query_one(EmptyState)
        assert hint.display
        assert "eventkit events send" in text_of(hint)
        assert not app.screen.query_one("#overview").display


async def test_overview_refreshes_by_itself(make_app: MakeApp, demo_engine: Engine) -> None:
    app = make_app(refresh_seconds=0.2)
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        card = app.screen.query_one("#stat-today", StatCard)
        before = int(text_of(card).split("\n")[1].replace(",", ""))
        EventStore(demo_engine).write([new_event("app_open", "user-new", END - 60_000_000)])
        for _ in range(50):  # the timer fires every 0.2 s; no fixed sleep decides the result
            await pilot.pause(0.1)
            await settle(pilot)
            if int(text_of(card).split("\n")[1].replace(",", "")) == before + 1:
                break
        assert int(text_of(card).split("\n")[1].replace(",", "")) == before + 1
