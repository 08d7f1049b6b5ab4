"""Reports: trends (interval and breakdown pickers), funnel bars, retention heat table,
paths as a tree."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Select, Static, TabbedContent, TabPane

from eventkit.demo.simulate import FUNNEL
from eventkit.releases.annotations import chart_marks
from eventkit.reports import Report
from eventkit.reports.query import INTERVALS, Interval
from eventkit.timeutil import US_PER_DAY, to_us
from eventkit.tui.format import duration
from eventkit.tui.screens.base import DashboardScreen
from eventkit.tui.widgets.bars import bar
from eventkit.tui.widgets.chart import LineChart
from eventkit.tui.widgets.columns import add_columns
from eventkit.tui.widgets.heat import heat_cell
from eventkit.tui.widgets.paths_tree import paths_tree

__all__ = ["ReportsScreen", "funnel_table", "trend_series"]

BREAKDOWNS = ("platform", "app_version", "country", "screen_name")
RANGES = (7, 14, 30, 90)


def _options(values: tuple[Any, ...], fmt: str = "{}") -> list[tuple[str, Any]]:
    return [(fmt.format(v), v) for v in values]


def _pct(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}%"


def trend_series(report: Report) -> tuple[list[str], dict[str, list[float]]]:
    """Bucket labels and one series per breakdown value from a trends report."""
    measure = report.columns[-1]
    by = report.columns[1] if len(report.columns) == 3 else None
    labels: list[str] = []
    series: dict[str, list[float]] = {}
    for row in report.rows:
        if row["bucket"] not in labels:
            labels.append(row["bucket"])
        series.setdefault(str(row[by]) or "(none)" if by else measure, []).append(row[measure])
    return labels, series


def funnel_table(report: Report, width: int = 36) -> Table:
    """Each step as a bar of its share of the entrants, with the drop-off under it."""
    t = Table.grid(padding=(0, 1))
    for _ in range(4):
        t.add_column(no_wrap=True)
    for row in report.rows:
        pct = float(row["conversion_pct"])
        t.add_row(
            Text(f"{row['step']}. {row['event']}", style="bold"),
            Text(bar(pct / 100, width), style="cyan"),
            f"{row['users']:,} users",
            Text(f"{pct:5.1f}%", style="bold"),
        )
        if row["step"] > 1:
            median = row["median_seconds"]
            t.add_row(
                "", Text(f"  ↳ {row['dropped']:,} dropped at this step "
                         f"({100 - float(row['step_conversion_pct']):.1f}%)", style="red"),
                "", Text(f"median {duration(median)}" if median is not None else "",
                         style="dim"),
            )  # fmt: skip
    return t


class ReportsScreen(DashboardScreen):
    """Four tabs over :class:`~eventkit.reports.ReportsService`."""

    MODE = "reports"
    BINDINGS = [
        Binding("t", "tab('trends')", "Trends"),
        Binding("f", "tab('funnel')", "Funnel"),
        Binding("e", "tab('retention')", "Retention"),
        Binding("p", "tab('paths')", "Paths"),
        Binding("v", "tab('releases')", "Releases"),
        Binding("i", "cycle_interval", "Interval"),
        Binding("b", "cycle_breakdown", "Breakdown"),
        Binding("r", "reload", "Refresh"),
    ]

    def body(self) -> ComposeResult:
        with TabbedContent(initial="trends"):
            with TabPane("Trends", id="trends"):
                with Horizontal(classes="controls"):
                    yield Select([("(all events)", "")], value="", allow_blank=False,
                                 id="t-event", prompt="event")  # fmt: skip
                    yield Select(_options(INTERVALS), value="day", allow_blank=False,
                                 id="t-interval")  # fmt: skip
                    yield Select([("no breakdown", ""), *_options(BREAKDOWNS, "by {}")],
                                 value="", allow_blank=False, id="t-by")  # fmt: skip
                    yield Select(_options(RANGES, "last {} days"), value=14,
                                 allow_blank=False, id="t-range")  # fmt: skip
                yield LineChart(id="t-chart")
                yield Static("", id="t-summary", classes="note")
            with TabPane("Funnel", id="funnel"):
                with Horizontal(classes="controls"):
                    yield Input(" ".join(FUNNEL), placeholder="steps: EVENT or EVENT:key=value",
                                id="f-steps")  # fmt: skip
                    yield Input("7d", placeholder="window", id="f-window")
                    yield Select(_options(RANGES, "last {} days"), value=14,
                                 allow_blank=False, id="f-range")  # fmt: skip
                yield Static("", id="f-bars", classes="panel")
                yield Static("", id="f-summary", classes="note")
            with TabPane("Retention", id="retention"):
                with Horizontal(classes="controls"):
                    yield Select(_options(("day", "week")), value="day", allow_blank=False,
                                 id="r-interval")  # fmt: skip
                    yield Select(_options(RANGES, "cohorts of the last {} days"), value=14,
                                 allow_blank=False, id="r-range")  # fmt: skip
                yield DataTable(id="r-table", cursor_type="row")
                yield Static("", id="r-summary", classes="note")
            with TabPane("Paths", id="paths"):
                with Horizontal(classes="controls"):
                    yield Input("", placeholder="after EVENT (empty: from session start)",
                                id="p-after")  # fmt: skip
                    yield Select([("by screen", "screen"), ("by event", "event")],
                                 value="screen", allow_blank=False, id="p-by")  # fmt: skip
                    yield Select(_options(RANGES, "last {} days"), value=14,
                                 allow_blank=False, id="p-range")  # fmt: skip
                yield Static("", id="p-tree", classes="panel")
            with TabPane("Releases", id="releases"):
                with Horizontal(classes="controls"):
                    yield Select(_options(RANGES, "last {} days"), value=14,
                                 allow_blank=False, id="v-range")  # fmt: skip
                yield DataTable(id="v-table", cursor_type="row")
                yield Static("", id="v-summary", classes="note")

    def on_mount(self) -> None:
        if self.data.ready:
            self.load(self._event_names, self._names, group="names")
        self.refresh_data()

    def _event_names(self) -> list[str]:
        top = self.data.reports.top(self.data.query(30), kind="events", limit=50)
        return [str(r["event"]) for r in top.rows]

    def _names(self, names: list[str]) -> None:
        sel = self.query_one("#t-event", Select)
        sel.set_options([("(all events)", ""), *((n, n) for n in names)])
        sel.value = ""

    def _value(self, sel_id: str) -> Any:
        return self.query_one(sel_id, Select).value

    def refresh_data(self) -> None:
        if not self.data.ready:
            return
        tab = self.query_one(TabbedContent).active
        loads = {"trends": self._load_trends, "funnel": self._load_funnel,
                 "retention": self._load_retention, "paths": self._load_paths,
                 "releases": self._load_releases}  # fmt: skip
        if tab in loads:
            loads[tab]()

    def _load_trends(self) -> None:
        event, interval = self._value("#t-event"), cast(Interval, self._value("#t-interval"))
        by, days = self._value("#t-by") or None, int(self._value("#t-range"))
        d = self.data
        self.load(lambda: d.trends(event, interval, by, days), self._trends, group="trends")

    def _trends(self, report: Report) -> None:
        labels, series = trend_series(report)
        m = report.meta
        marks = chart_marks(labels, m.get("annotations") or [])
        self.query_one("#t-chart", LineChart).plot(
            labels, series, f"{m['event']} per {m['interval']}", marks
        )
        total = (
            f"total {m['total']:,}"
            if m.get("total") is not None
            else (
                f"{len(series)} series: "
                + ", ".join(f"{k} {sum(v):,.0f}" for k, v in series.items())
            )
        )
        notes = "".join(
            f"\n▲ {a['at'][:16]} {a['text']}" for a in (m.get("annotations") or [])[-3:]
        )
        self.query_one("#t-summary", Static).update(
            f"{m['event']} · {m['measure']} per {m['interval']} · {m['since'][:10]} → "
            f"{m['until'][:10]} · {total}{notes}"
        )

    def _load_funnel(self) -> None:
        steps = self.query_one("#f-steps", Input).value.split()
        window = self.query_one("#f-window", Input).value.strip() or "1d"
        days, d = int(self._value("#f-range")), self.data
        self.load(lambda: d.funnel(steps, window, days), self._funnel, group="funnel")

    def _funnel(self, report: Report) -> None:
        self.query_one("#f-bars", Static).update(funnel_table(report))
        m = report.meta
        rate = 100.0 * m["converted"] / m["entered"] if m["entered"] else 0.0
        self.query_one("#f-summary", Static).update(
            f"{m['entered']:,} users entered · {m['converted']:,} converted ({rate:.1f}%) "
            f"within {m['window_seconds'] // 3600}h of step 1"
        )

    def _load_retention(self) -> None:
        interval = cast(Interval, self._value("#r-interval"))
        days, d = int(self._value("#r-range")), self.data
        self.load(lambda: d.retention(interval, days), self._retention, group="retention")

    def _retention(self, report: Report) -> None:
        table = self.query_one("#r-table", DataTable)
        table.clear(columns=True)
        periods = report.columns[2:]
        unit = "d" if report.meta["interval"] == "day" else "w"
        add_columns(table, [("cohort", 10), ("users", 6), *((f"{unit}{p}", 7) for p in periods)])
        step = US_PER_DAY * (1 if unit == "d" else 7)
        now = self.data.clock()
        for row in report.rows:
            start = to_us(datetime.fromisoformat(row["cohort"]).replace(tzinfo=UTC))
            # Periods that start after the dashboard's clock are not observable yet.
            cells = [heat_cell(row.get(p) if start + int(p) * step <= now else None)
                     for p in periods]  # fmt: skip
            table.add_row(row["cohort"], f"{row['users']:,}", *cells)
        self.query_one("#r-summary", Static).update(
            f"share of each cohort (first seen) active again in period N · "
            f"{report.meta['return_event']}"
        )

    def _load_paths(self) -> None:
        after = self.query_one("#p-after", Input).value.strip()
        by, days, d = str(self._value("#p-by")), int(self._value("#p-range")), self.data
        self.load(lambda: d.paths(after, by, days), self._paths, group="paths")

    def _paths(self, report: Report) -> None:
        self.query_one("#p-tree", Static).update(
            paths_tree(report) if report.rows else "no sessions with such a path in range"
        )

    def _load_releases(self) -> None:
        days, d = int(self._value("#v-range")), self.data
        self.load(lambda: d.releases(days), self._releases, group="releases")

    def _releases(self, report: Report) -> None:
        table = self.query_one("#v-table", DataTable)
        table.clear(columns=True)
        add_columns(table, [("version", 10), ("platform", 9), ("first seen", 11), ("users", 7),
                            ("adoption", 9), ("crash-free users", 17),
                            ("crash-free sessions", 20), ("errors/session", 15)])  # fmt: skip
        for r in report.rows:
            table.add_row(
                r["app_version"], r["platform"], (r["first_seen"] or "")[:10], f"{r['users']:,}",
                _pct(r["adoption_pct"]), _pct(r["crash_free_users_pct"], 2),
                _pct(r["crash_free_sessions_pct"], 2),
                "" if r["errors_per_session"] is None else f"{r['errors_per_session']:.3f}",
            )  # fmt: skip
        latest = ", ".join(f"{p} {v}" for p, v in sorted(report.meta["latest"].items()) if p)
        self.query_one("#v-summary", Static).update(
            f"{report.meta['active_users']:,} active users · newest: {latest or '-'} · "
            "crash-free = no $crash (or fatal $error) · eventkit report releases"
        )

    def on_select_changed(self, event: Select.Changed) -> None:
        if self.is_mounted and event.select.id not in (None, ""):
            self.refresh_data()

    def on_input_submitted(self) -> None:
        self.refresh_data()

    def on_tabbed_content_tab_activated(self) -> None:
        self.refresh_data()

    def action_tab(self, tab: str) -> None:
        """Show a tab."""
        self.query_one(TabbedContent).active = tab

    def _cycle(self, sel_id: str, values: tuple[Any, ...]) -> None:
        sel: Select[Any] = self.query_one(sel_id, Select)
        sel.value = values[(values.index(sel.value) + 1) % len(values)]

    def action_cycle_interval(self) -> None:
        """Next interval (trends) or cohort size (retention)."""
        if self.query_one(TabbedContent).active == "retention":
            self._cycle("#r-interval", ("day", "week"))
        else:
            self.action_tab("trends")
            self._cycle("#t-interval", INTERVALS)

    def action_cycle_breakdown(self) -> None:
        """Next trends breakdown."""
        self.action_tab("trends")
        self._cycle("#t-by", ("", *BREAKDOWNS))
