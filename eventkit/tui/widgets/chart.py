"""A line chart drawn by plotext (the chart ``eventkit report trends`` prints)."""

from __future__ import annotations

import threading
from typing import Any

from rich.console import RenderableType
from rich.text import Text
from textual.widget import Widget

__all__ = ["LineChart"]

_PLOTEXT = threading.Lock()  # plotext keeps one global figure


class LineChart(Widget):
    """Series of numbers over labelled buckets, drawn at the widget's current size."""

    def __init__(self, *, id: str) -> None:
        super().__init__(id=id)
        self.labels: list[str] = []
        self.series: dict[str, list[float]] = {}
        self.chart_title = ""
        self.marks: list[tuple[int, str]] = []
        self._cache: tuple[tuple[int, int], Text] | None = None

    def plot(
        self, labels: list[str], series: dict[str, list[float]], title: str = "",
        marks: list[tuple[int, str]] | None = None,
    ) -> None:  # fmt: skip
        """Draw ``series`` (name → one value per label), with a vertical line at each
        ``(label index, text)`` mark (annotations)."""
        self.labels, self.series, self.chart_title = labels, series, title
        self.marks = marks or []
        self._cache = None
        self.refresh()

    def render(self) -> RenderableType:
        if not self.series or not self.labels:
            return Text("no data in range", style="dim")
        size = (max(self.size.width, 30), max(self.size.height, 8))
        if self._cache is None or self._cache[0] != size:
            text = _render(self.labels, self.series, self.chart_title, *size, self.marks)
            self._cache = (size, Text.from_ansi(text))
        return self._cache[1]


def _render(
    labels: list[str], series: dict[str, list[float]], title: str, width: int, height: int,
    marks: list[tuple[int, str]] | None = None,
) -> str:  # fmt: skip
    import plotext as plt

    with _PLOTEXT:
        plt.clear_figure()
        plt.theme("pro")
        plt.plotsize(width, height)
        xs = list(range(len(labels)))
        for name, values in list(series.items())[:8]:
            plt.plot(xs, values, label=name, marker="braille")
        for index, _ in (marks or [])[-6:]:
            plt.vline(index, "magenta")
        step = max(1, len(labels) // 6)
        plt.xticks(xs[::step], [_short(x) for x in labels[::step]])
        if title:
            plt.title(title)
        out: Any = plt.build()
    return str(out)


def _short(label: str) -> str:
    return label[5:16].replace("T", " ") if len(label) >= 10 else label
