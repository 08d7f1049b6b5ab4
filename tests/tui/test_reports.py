"""Reports: trends with interval and breakdown pickers, funnel bars, retention table."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from textual.widgets import DataTable, Input, Select, TabbedContent

from eventkit.timeutil import US_PER_DAY
from eventkit.tui.widgets.chart import LineChart
from tests.tui.conftest import MakeApp, rows_of, settle, text_of
from tests.tui.dataset import END
from tests.tui.oracle import rows, scalar

MIDNIGHT = END - END % US_PER_DAY
SINCE = MIDNIGHT - 14 * US_PER_DAY  # last 14 days, snapped to whole days
UNTIL = MIDNIGHT + US_PER_DAY


async def test_trends_interval_and_breakdown(make_app: MakeApp, demo_engine: Engine) -> None:
    app = make_app(start="reports")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        total = scalar(demo_engine, "SELECT COUNT(*) FROM events WHERE ts >= :s AND ts < :e",
                       s=SINCE, e=UNTIL)  # fmt: skip
        summary = text_of(app.screen.query_one("#t-summary"))
        assert f"total {total:,}" in summary and "per day" in summary
        chart = app.screen.query_one(LineChart)
        assert len(chart.labels) == 15 and sum(chart.series["count"]) == total

        await pilot.press("i")  # day -> week
        await settle(pilot)
        assert app.screen.query_one("#t-interval", Select).value == "week"
        assert "per week" in text_of(app.screen.query_one("#t-summary"))

        await pilot.press("b")  # no breakdown -> platform
        await settle(pilot)
        by = dict(
            rows(
                demo_engine,
                "SELECT platform, COUNT(*) FROM events WHERE ts >= :s "
                "AND ts < :e GROUP BY platform",
                s=SINCE - 4 * US_PER_DAY,
                e=UNTIL,
            )
        )
        series = app.screen.query_one(LineChart).series
        assert set(series) == set(by)
        # Week buckets start on Mondays: compare the whole-range sums per platform.
        week_since = MIDNIGHT - 14 * US_PER_DAY
        monday = week_since - ((week_since // US_PER_DAY + 3) % 7) * US_PER_DAY
        by = dict(
            rows(
                demo_engine,
                "SELECT platform, COUNT(*) FROM events WHERE ts >= :s "
                "AND ts < :e GROUP BY platform",
                s=monday,
                e=UNTIL + 7 * US_PER_DAY,
            )
        )
        assert {k: sum(v) for k, v in series.items()} == by


async def test_funnel_bars_show_drop_off(make_app: MakeApp, demo_engine: Engine) -> None:
    app = make_app(start="reports")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        assert app.screen.query_one(TabbedContent).active == "funnel"
        bars = text_of(app.screen.query_one("#f-bars"))
        entered = scalar(
            demo_engine, "SELECT COUNT(DISTINCT COALESCE(user_id, anonymous_id)) FROM events "
            "WHERE name = 'signup_completed' AND ts >= :s AND ts < :e", s=SINCE, e=UNTIL,
        )  # fmt: skip
        lines = bars.splitlines()
        assert lines[0].startswith("1. signup_completed") and f"{entered:,} users" in lines[0]
        assert "100.0%" in lines[0]
        assert "dropped at this step" in lines[2]
        assert lines[-2].startswith("3. purchase_completed")

        steps = app.screen.query_one("#f-steps", Input)
        steps.value = "signup_completed"
        steps.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "ErrorModal"
        assert "at least two steps" in text_of(app.screen.query_one("#error-message"))


async def test_retention_heat_table(make_app: MakeApp, demo_engine: Engine) -> None:
    app = make_app(start="reports")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        table = app.screen.query_one("#r-table", DataTable)
        shown = rows_of(table)
        firsts = rows(
            demo_engine, "SELECT day, COUNT(*) FROM (SELECT COALESCE(user_id, anonymous_id) a, "
            "MIN(ts) - MIN(ts) % :d AS day FROM events GROUP BY a) WHERE day >= :s AND day < :e "
            "GROUP BY day ORDER BY day", d=US_PER_DAY, s=SINCE, e=UNTIL,
        )  # fmt: skip
        assert [int(r[1].replace(",", "")) for r in shown] == [n for _, n in firsts]
        assert all(r[2].strip() == "100.0%" for r in shown)  # day 0: everyone is active
        await pilot.press("i")  # day -> week cohorts
        await settle(pilot)
        assert str(table.columns[next(iter(table.columns))].label) == "cohort"
        assert [str(c.label) for c in table.columns.values()][2] == "w0"


async def test_paths_tab_shows_the_reports_tree(make_app: MakeApp, demo_engine: Engine) -> None:
    from eventkit.reports import ReportQuery, ReportsService
    from eventkit.reports.paths import PathsSpec
    from tests.conftest import make_settings

    app = make_app(start="reports")
    async with app.run_test(size=(140, 42)) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        assert app.screen.query_one(TabbedContent).active == "paths"
        after = app.screen.query_one("#p-after", Input)
        after.value = "signup_completed"
        after.focus()
        await pilot.press("enter")
        await settle(pilot)
        tree = text_of(app.screen.query_one("#p-tree"))
        settings = make_settings(str(demo_engine.url))
        q = ReportQuery(app_id=1, since=SINCE, until=UNTIL)
        want = ReportsService(demo_engine, settings).paths(q, PathsSpec(after="signup_completed"))
        assert want.meta["sessions"] > 0
        assert f"{want.meta['sessions']:,} sessions" in tree and "after signup_completed" in tree
        first = want.rows[1]  # the most common screen after the anchor
        assert f"{first['node']}  {first['sessions']:,}" in tree
