"""Live events: the tail, filters, pause, and the detail pane's JSON."""

from __future__ import annotations

import json

from sqlalchemy.engine import Engine
from textual.widgets import DataTable, Input

from eventkit.storage.events import EventStore
from eventkit.tui.data import SCAN
from eventkit.tui.screens.live import LiveScreen
from tests.tui.conftest import MakeApp, new_event, rows_of, settle, text_of
from tests.tui.oracle import rows, scalar


async def test_tail_shows_newest_events_with_full_json(
    make_app: MakeApp, demo_engine: Engine
) -> None:
    app = make_app(start="live")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(DataTable)
        newest = rows(demo_engine, "SELECT name, event_id FROM events ORDER BY ts DESC, id DESC "
                      "LIMIT 5")  # fmt: skip
        assert [r[1] for r in rows_of(table)[:5]] == [n for n, _ in newest]
        detail = json.loads(text_of(app.screen.query_one(".detail-body")))
        assert detail["name"] == newest[0][0]
        assert set(detail) >= {"event_id", "properties", "context", "session_id", "received_at"}
        await pilot.press("down")
        detail = json.loads(text_of(app.screen.query_one(".detail-body")))
        assert detail["name"] == newest[1][0]


async def test_filters_and_pause(make_app: MakeApp, demo_engine: Engine) -> None:
    app = make_app(start="live")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        await pilot.press("slash")
        assert app.focused is screen.query_one("#f-name", Input)
        screen.query_one("#f-prop", Input).value = "screen_name=cart"
        await pilot.press("enter")
        await settle(pilot)
        shown = rows_of(screen.query_one(DataTable))
        # The property filter looks at the newest SCAN events that pass the others.
        carts = scalar(
            demo_engine, "SELECT COUNT(*) FROM (SELECT properties FROM events "
            "ORDER BY ts DESC, id DESC LIMIT :n) WHERE properties LIKE '%\"cart\"%'", n=SCAN,
        )  # fmt: skip
        assert len(shown) == min(carts, 500) > 0
        assert {r[1] for r in shown} == {"$screen"}

        # A new matching event shows up on the next poll, but not while paused.
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("p")
        EventStore(demo_engine).write([new_event("plan_upgraded", "user-live")])
        screen.poll()
        await settle(pilot)
        assert rows_of(screen.query_one(DataTable))[0][1] != "plan_upgraded"
        assert "paused" in text_of(screen.query_one("#live-status"))
        await pilot.press("p")
        screen.poll()
        await settle(pilot)
        top = rows_of(screen.query_one(DataTable))[0]
        assert top[1:3] == ["plan_upgraded", "user-live"]


async def test_bad_property_filter_is_an_error_modal(make_app: MakeApp) -> None:
    app = make_app(start="live")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        app.screen.query_one("#f-prop", Input).value = "no-operator"
        app.screen.query_one("#f-prop", Input).focus()
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "ErrorModal"
        assert "key=value" in text_of(app.screen.query_one("#error-message"))
        await pilot.press("escape")
        assert isinstance(app.screen, LiveScreen)
