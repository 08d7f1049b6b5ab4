"""Charts drawn on the server as inline SVG: axes, gridlines, a legend, and the values
under the pointer (an SVG ``<title>`` per point, which browsers show on hover and
screen readers read). Colours come from CSS classes, so one chart serves the light and
the dark theme."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

__all__ = ["bar_chart", "line_chart", "nice_ticks", "number", "spark_bars"]

_SERIES = 8


def number(value: float | None, digits: int = 1) -> str:
    """A figure for people: 1234 -> 1,234; 0.5 -> 0.5; None -> -."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def _short(value: float) -> str:
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            text = f"{value / size:.1f}".rstrip("0").rstrip(".")
            return f"{text}{unit}"
    return number(value)


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least ``top``."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _legend(names: Sequence[str], x: float, y: float) -> str:
    parts, dx = [], 0.0
    for i, name in enumerate(names):
        label = escape(name if len(name) <= 24 else name[:23] + "…")
        parts.append(
            f'<g class="legend s{i % _SERIES}" transform="translate({x + dx:.0f},{y:.0f})">'
            f'<rect width="10" height="10" rx="2"/><text x="14" y="9">{label}</text></g>'
        )
        dx += 24 + 7 * len(label)
    return "".join(parts)


def line_chart(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    title: str,
    width: int = 880,
    height: int = 260,
    dashed: Sequence[str] = (),
) -> Markup:
    """A line chart of ``series`` (name -> one value per label) over ``labels``."""
    names = list(series)[:_SERIES]
    top = max((v for n in names for v in series[n]), default=0)
    ticks = nice_ticks(float(top))
    left, right, upper, lower = 56, 26, 30 if len(names) > 1 else 12, 28
    w, h = width - left - right, height - upper - lower
    n = max(1, len(labels))
    step = w / max(1, n - 1)

    def x(i: int) -> float:
        return left + (i * step if n > 1 else w / 2)

    def y(v: float) -> float:
        return upper + h - (v / ticks[-1]) * h

    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for t in ticks:
        out.append(
            f'<line class="grid" x1="{left}" x2="{left + w}" y1="{y(t):.1f}" y2="{y(t):.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">'
            f"{_short(t)}</text>"
        )
    every = max(1, math.ceil(n / 10))
    for i, label in enumerate(labels):
        if i % every == 0:
            out.append(
                f'<text class="tick" x="{x(i):.1f}" y="{height - 8}" text-anchor="middle">'
                f"{escape(label[5:] if len(label) == 10 else label[5:16])}</text>"
            )
    out.append(
        f'<line class="axis" x1="{left}" x2="{left + w}" y1="{upper + h}" y2="{upper + h}"/>'
    )
    for k, name in enumerate(names):
        pts = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(series[name]))
        dash = ' stroke-dasharray="5 4"' if name in dashed else ""
        out.append(f'<polyline class="line s{k}" points="{pts}"{dash}/>')
    # One hover column per label: the values of every series at that point.
    for i, label in enumerate(labels):
        values = "\n".join(
            f"{name}: {number(series[name][i])}" for name in names if i < len(series[name])
        )
        out.append(
            f'<rect class="hover" x="{x(i) - step / 2:.1f}" y="{upper}" '
            f'width="{max(step, 4):.1f}" height="{h}"><title>{escape(label)}\n'
            f"{escape(values)}</title></rect>"
        )
    if len(names) > 1:
        out.append(_legend(names, left, 8))
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text in it went through escape()


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    notes: Sequence[str] = (),
    width: int = 880,
    height: int = 260,
) -> Markup:
    """Vertical bars (a funnel's steps): the value above each bar, ``notes`` in its title."""
    ticks = nice_ticks(float(max(values, default=0)))
    left, right, upper, lower = 56, 12, 18, 30
    w, h = width - left - right, height - upper - lower
    slot = w / max(1, len(values))
    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for t in ticks:
        yy = upper + h - t / ticks[-1] * h
        out.append(
            f'<line class="grid" x1="{left}" x2="{left + w}" y1="{yy:.1f}" y2="{yy:.1f}"/>'
            f'<text class="tick" x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end">'
            f"{_short(t)}</text>"
        )
    for i, (label, v) in enumerate(zip(labels, values, strict=False)):
        bh = v / ticks[-1] * h
        x0 = left + i * slot + slot * 0.15
        note = f"\n{notes[i]}" if i < len(notes) else ""
        out.append(
            f'<g class="bar"><rect class="s0" x="{x0:.1f}" y="{upper + h - bh:.1f}" '
            f'width="{slot * 0.7:.1f}" height="{max(bh, 0.5):.1f}" rx="3"><title>'
            f"{escape(label)}: {number(v)}{escape(note)}</title></rect>"
            f'<text class="value" x="{x0 + slot * 0.35:.1f}" y="{upper + h - bh - 4:.1f}" '
            f'text-anchor="middle">{number(v)}</text>'
            f'<text class="tick" x="{x0 + slot * 0.35:.1f}" y="{height - 10}" '
            f'text-anchor="middle">{escape(label[:28])}</text></g>'
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text in it went through escape()


def spark_bars(
    values: Sequence[int], *, title: str, start_label: str = "", width: int = 300, height: int = 48
) -> Markup:
    """Small bars (the live per-minute rate), each with its count on hover."""
    top = max(values, default=0) or 1
    slot = width / max(1, len(values))
    out = [
        f'<svg class="spark" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for i, v in enumerate(values):
        bh = v / top * (height - 2)
        ago = len(values) - 1 - i
        when = "this minute" if ago == 0 else f"{ago} min ago"
        out.append(
            f'<rect class="s0" x="{i * slot:.1f}" y="{height - max(bh, 1):.1f}" '
            f'width="{max(slot - 1, 1):.1f}" height="{max(bh, 1):.1f}">'
            f"<title>{when}: {v} events</title></rect>"
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704 - every text in it went through escape()
