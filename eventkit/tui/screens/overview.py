"""Overview: today's events, active users, sessions, the live rate, top lists."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Sparkline, Static

from eventkit.reports import Report
from eventkit.tui.data import RATE_MINUTES, Overview
from eventkit.tui.format import duration
from eventkit.tui.screens.base import DashboardScreen
from eventkit.tui.screens.reports import trend_series
from eventkit.tui.widgets.bars import bar_table
from eventkit.tui.widgets.chart import LineChart
from eventkit.tui.widgets.empty import NO_APP, NO_EVENTS, EmptyState
from eventkit.tui.widgets.stat import StatCard

__all__ = ["OverviewScreen"]


def _num(n: object) -> str:
    return f"{n:,}" if isinstance(n, int) else str(n if n is not None else "-")


def _bars(report: Report, label: str, share: bool = False) -> list[tuple[str, float, str]]:
    return [
        (str(r[label]), float(r["events"]),
         f"{r['share_pct']:4.1f}%" if share else f"{r['events']:,}  {r['share_pct']:4.1f}%")
        for r in report.rows
    ]  # fmt: skip


class OverviewScreen(DashboardScreen):
    """The first screen: how the app is doing right now."""

    MODE = "overview"
    BINDINGS = [Binding("r", "reload", "Refresh")]

    def __init__(self) -> None:
        super().__init__()
        self._timer: Timer | None = None

    def body(self) -> ComposeResult:
        yield EmptyState(NO_APP if not self.data.ready else NO_EVENTS)
        with Vertical(id="overview"):
            with Horizontal(id="stats"):
                yield StatCard("Events today", id="stat-today")
                yield StatCard("DAU", id="stat-dau")
                yield StatCard("WAU", id="stat-wau")
                yield StatCard("MAU", id="stat-mau")
                yield StatCard("Sessions (24h)", id="stat-sessions")
                yield StatCard("Median session", id="stat-median")
            with Vertical(id="rate-panel", classes="panel"):
                yield Static(f"Events per minute · last {RATE_MINUTES} min", classes="panel-title")
                yield Sparkline([], id="rate")
                yield Static("", id="rate-note", classes="note")
            with Horizontal(id="tops"):
                with Vertical(classes="panel", id="daily-panel"):
                    yield Static("Events per day · 14 days", classes="panel-title")
                    yield LineChart(id="daily")
                with Vertical(id="lists"):
                    with Vertical(classes="panel"):
                        yield Static("Top events · 7 days", classes="panel-title")
                        yield Static("", id="top-events")
                    with Horizontal(id="splits"):
                        with Vertical(classes="panel"):
                            yield Static("Platforms", classes="panel-title")
                            yield Static("", id="platforms")
                        with Vertical(classes="panel"):
                            yield Static("App versions", classes="panel-title")
                            yield Static("", id="versions")

    def on_mount(self) -> None:
        self._empty(not self.data.ready)
        self.refresh_data()
        seconds = self.dash.refresh_seconds
        if seconds > 0 and self.data.ready:
            self._timer = self.set_interval(seconds, self.refresh_data)

    def _empty(self, empty: bool) -> None:
        self.query_one("#empty").display = empty
        self.query_one("#overview").display = not empty

    def refresh_data(self) -> None:
        if self.data.ready:
            self.load(self.data.overview, self.show, group="overview")

    def show(self, o: Overview) -> None:
        """Fill the cards, the chart and the lists."""
        self._empty(o.stored == 0)
        a = o.active
        self.query_one("#stat-today", StatCard).set_value(_num(o.today), "since 00:00 UTC")
        self.query_one("#stat-dau", StatCard).set_value(_num(a.get("dau")), f"on {a['as_of']}")
        self.query_one("#stat-wau", StatCard).set_value(_num(a.get("wau")), "7 days")
        stick = a.get("stickiness")
        note = f"stickiness {stick:.0%}" if isinstance(stick, float) else "30 days"
        self.query_one("#stat-mau", StatCard).set_value(_num(a.get("mau")), note)
        s = o.sessions
        self.query_one("#stat-sessions", StatCard).set_value(
            _num(s["sessions"]) if s else "-",
            f"bounce {s['bounce_rate']:.0%}" if s else "none computed yet",
        )
        self.query_one("#stat-median", StatCard).set_value(
            duration(s["median_duration_s"]) if s else "-",
            f"p90 {duration(s['p90_duration_s'])}" if s else "",
        )
        self.query_one("#rate", Sparkline).data = o.per_minute
        total = sum(o.per_minute)
        self.query_one("#rate-note", Static).update(
            f"{total:,} events · peak {max(o.per_minute, default=0):,}/min · "
            f"now {o.per_minute[-1] if o.per_minute else 0:,}/min"
        )
        self.query_one("#top-events", Static).update(
            bar_table(_bars(o.top_events, "event"), width=16)
        )
        self.query_one("#platforms", Static).update(
            bar_table(_bars(o.platforms, "platform", share=True), width=6, style="green")
        )
        self.query_one("#versions", Static).update(
            bar_table(_bars(o.versions, "app_version", share=True), width=6, style="magenta")
        )
        labels, series = trend_series(o.daily)
        self.query_one("#daily", LineChart).plot(labels, series)
