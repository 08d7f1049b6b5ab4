"""Experiments: per-variant results with intervals, the verdict and the SRM warning."""

from __future__ import annotations

import math

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from eventkit.experiments.analysis import Readout
from eventkit.experiments.store import ExperimentRecord
from eventkit.tui.format import short_time
from eventkit.tui.screens.base import DashboardScreen
from eventkit.tui.widgets.columns import add_columns

__all__ = ["ExperimentsScreen", "result_rows"]

COLUMNS = (
    ("variant", 14),
    ("exposed", 7),
    ("converted", 9),
    ("rate [95% CI]", 23),
    ("abs lift [95% CI]", 26),
    ("rel lift [95% CI]", 23),
    ("p-value", 7),
    ("P(beat ctl)", 11),
)


def _pct(x: float | None) -> str:
    return "" if x is None or math.isnan(x) else f"{x * 100:.2f}%"


def result_rows(r: Readout) -> list[tuple[str | Text, ...]]:
    """One row per variant, as ``eventkit experiments results`` prints it."""
    rows: list[tuple[str | Text, ...]] = []
    for v in r.variants:
        control = v.variant == r.control and v.variant != "control"
        name = Text(v.variant + (" (control)" if control else ""), style="bold")
        rate = f"{_pct(v.rate)} [{_pct(v.rate_ci.low)}, {_pct(v.rate_ci.high)}]"
        lift: tuple[str | Text, ...] = ("", "", "", "")
        if v.lift is not None:
            a, ci = v.lift.absolute, v.lift.absolute_ci
            good = v.lift.p_value < 0.05
            style = ("bold green" if a > 0 else "bold red") if good else ""
            rel, rci = v.lift.relative, v.lift.relative_ci
            lift = (
                Text(f"{a * 100:+.2f} pts [{ci.low * 100:+.2f}, {ci.high * 100:+.2f}]", style),
                f"{rel * 100:+.1f}% [{rci.low * 100:+.1f}, {rci.high * 100:+.1f}]"
                if rel is not None and rci is not None else "",
                Text(f"{v.lift.p_value:.4f}", style),
                _pct(v.prob_beat_control),
            )  # fmt: skip
        rows.append((name, f"{v.exposed:,}", f"{v.conversions:,}", rate, *lift))
    return rows


class ExperimentsScreen(DashboardScreen):
    """The experiment list and the highlighted experiment's readout."""

    MODE = "experiments"
    BINDINGS = [Binding("r", "reload", "Recompute")]

    def __init__(self) -> None:
        super().__init__()
        self.records: list[ExperimentRecord] = []

    def body(self) -> ComposeResult:
        with Vertical(id="experiments"):
            table: DataTable[str] = DataTable(id="exp-table", cursor_type="row")
            add_columns(
                table,
                (("experiment", 24), ("status", 8), ("flag", 20), ("metric", 24), ("started", 19)),
            )
            yield table
            with Vertical(id="exp-side"):
                yield Static("", id="exp-head", classes="panel")
                yield Static("", id="exp-srm")
                yield DataTable(id="exp-results", cursor_type="none")
                yield Static("", id="exp-secondary", classes="note")
                yield Static("", id="exp-verdict", classes="verdict")

    @property
    def table(self) -> DataTable[str]:
        """The experiment list."""
        return self.query_one("#exp-table", DataTable)

    def on_mount(self) -> None:
        self.refresh_data()
        self.table.focus()

    def refresh_data(self) -> None:
        if self.data.ready:
            self.load(self.data.experiments, self._listed, group="experiments")

    def _listed(self, records: list[ExperimentRecord]) -> None:
        self.records = records
        t = self.table
        t.clear()
        for r in records:
            started = short_time(r.started_at) if r.started_at else "not started"
            t.add_row(r.spec.key, r.status, r.spec.flag, r.spec.primary.event, started)
        if not records:
            self.query_one("#exp-head", Static).update(
                "No experiments yet. Define one on a flag with `eventkit experiments create "
                "KEY --app APP --flag FLAG --metric EVENT` (docs/experiments.md), or run "
                "`eventkit demo`, which runs checkout-test."
            )
            return
        t.move_cursor(row=0, animate=False)
        self._open()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "exp-table":
            self._open()

    def _open(self) -> None:
        row = self.table.cursor_row
        if not 0 <= row < len(self.records):
            return
        key, data = self.records[row].spec.key, self.data
        self.load(lambda: data.results(key), self._show, group="readout")

    def _show(self, result: tuple[ExperimentRecord, Readout | None]) -> None:
        rec, r = result
        s = rec.spec
        started = short_time(rec.started_at) if rec.started_at else "not started"
        self.query_one("#exp-head", Static).update(
            f"[b]{s.key}[/b] ({rec.status})  ·  flag [b]{s.flag}[/b]  ·  started {started}\n"
            f"{s.description}\nprimary: converts with [b]{s.primary.event}[/b] within "
            f"{s.window_hours:g}h of first exposure"
        )
        table = self.query_one("#exp-results", DataTable)
        table.clear(columns=True)
        srm = self.query_one("#exp-srm", Static)
        verdict = self.query_one("#exp-verdict", Static)
        if r is None:
            srm.display = False
            verdict.update(f"start it with `eventkit experiments start {s.key} --app APP`")
            return
        add_columns(table, COLUMNS)
        table.add_rows(result_rows(r))
        self._srm(srm, r)
        secondary = [f"{v.variant}: " + ", ".join(f"{x.metric} = {x.mean:.3f}" +
                     (f" (p {x.test.p_value:.3f})" if x.test else "") for x in v.secondary)
                     for v in r.variants if v.secondary]  # fmt: skip
        if r.excluded_multiple_variants:
            secondary.append(f"excluded: {r.excluded_multiple_variants} users saw several variants")
        self.query_one("#exp-secondary", Static).update("\n".join(secondary))
        verdict.set_class(r.srm, "bad")
        verdict.update(Text.assemble(("verdict: ", "bold"), r.verdict))

    @staticmethod
    def _srm(widget: Static, r: Readout) -> None:
        if r.srm:
            widget.update(f"⚠ SAMPLE RATIO MISMATCH: p = {r.srm_p_value:.2g} (χ² {r.srm_chi2:.1f})"
                          " — the split is not what the flag's weights promise")  # fmt: skip
            widget.set_classes("srm bad")
        elif not r.srm_checked:
            widget.update("SRM not checked: a compared variant has weight 0 in the flag's split")
            widget.set_classes("srm")
        else:
            widget.update(f"✓ sample ratio as expected (SRM p = {r.srm_p_value:.3f})")
            widget.set_classes("srm ok")
        widget.display = True
