"""Explorer: search by name/user/time/property; user and session timelines."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from textual.widgets import DataTable, Input

from eventkit.tui.screens.explorer import ExplorerScreen
from eventkit.tui.screens.timeline import TimelineScreen
from tests.tui.conftest import MakeApp, rows_of, settle, text_of
from tests.tui.dataset import END
from tests.tui.oracle import rows, scalar


async def _search(pilot: object, app: object, **fields: str) -> list[list[str]]:
    screen = app.screen  # type: ignore[attr-defined]
    for name, value in fields.items():
        screen.query_one(f"#x-{name}", Input).value = value
    screen.query_one("#x-name", Input).focus()
    await pilot.press("enter")  # type: ignore[attr-defined]
    await settle(pilot)  # type: ignore[arg-type]
    return rows_of(screen.query_one("#x-events DataTable", DataTable))


async def test_search_by_name_user_and_time(make_app: MakeApp, demo_engine: Engine) -> None:
    app = make_app(start="explorer")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        found = await _search(pilot, app, name="purchase_completed", since="7d")
        expected = scalar(
            demo_engine, "SELECT COUNT(*) FROM events WHERE name = 'purchase_completed' "
            "AND ts >= :s", s=END - 7 * 86_400_000_000,
        )  # fmt: skip
        assert len(found) == expected > 0
        assert {r[1] for r in found} == {"purchase_completed"}
        found = await _search(pilot, app, name="", since="", user="user-0000007")
        n = scalar(demo_engine, "SELECT COUNT(*) FROM events WHERE user_id = 'user-0000007'")
        assert len(found) == n > 0
        assert {r[2] for r in found} == {"user-0000007"}
        status = text_of(app.screen.query_one("#x-status"))
        assert status.startswith(f"{n} events")


async def test_user_and_session_timelines(make_app: MakeApp, demo_engine: Engine) -> None:
    app = make_app(start="explorer")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        await _search(pilot, app, user="user-0000007")
        app.screen.query_one("#x-events DataTable", DataTable).focus()
        await pilot.press("u")
        await settle(pilot)
        assert isinstance(app.screen, TimelineScreen)
        assert "user user-0000007" in app.screen.head
        assert "dev-0000007" in app.screen.head  # the linked device
        await pilot.press("escape")
        assert isinstance(app.screen, ExplorerScreen)

        newest_session = rows(
            demo_engine, "SELECT session_id FROM events WHERE user_id = 'user-0000007' "
            "ORDER BY ts DESC, id DESC LIMIT 1",
        )[0][0]  # fmt: skip
        in_session = scalar(
            demo_engine, "SELECT COUNT(*) FROM events WHERE session_id = :s", s=newest_session
        )
        await pilot.press("s")
        await settle(pilot)
        assert isinstance(app.screen, TimelineScreen)
        assert f"{in_session} events" in app.screen.head
        table = app.screen.query_one(DataTable)
        names = [r[2] for r in rows_of(table)]
        assert names[0] == "$session_start" and names[-1] == "$session_end"
        assert len(names) == in_session


async def test_bad_time_is_an_error_modal_not_a_traceback(make_app: MakeApp) -> None:
    app = make_app(start="explorer")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        await _search(pilot, app, since="yesterday-ish")
        assert type(app.screen).__name__ == "ErrorModal"
        assert "cannot read the time" in text_of(app.screen.query_one("#error-message"))
        await pilot.press("enter")
        assert isinstance(app.screen, ExplorerScreen)
