"""Tables that stay readable on a narrow terminal.

Every table command hands its rows to one layout (:func:`layout`): each column has a
priority (by default its position: leftmost first), a minimum width (by default its
header, or its widest cell up to 12 characters), and may be marked ``keep``. Columns
to keep get their minimum width first; then, in priority order, columns widen or are
added at the width of their widest cell (up to 40% of the terminal) while that fits.
The columns left out are named in a line under the table (``--format json`` has every
field). The columns shown never cut a word:
long values wrap, and ids and JSON fold onto the next line. A *preview* column (a
short view of a dict such as an event's properties) is one line of ``key: value``
pairs that ends with ``…`` where it is cut. Times in UTC show to the second.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from eventkit.reports.export import cell as export_cell

__all__ = ["Col", "cell", "layout", "preview", "table"]

#: Narrowest a column is squeezed to by default (a wider header sets its own minimum).
DEFAULT_MIN = 12
#: Minimum width of a preview column: a key and the start of its value.
PREVIEW_MIN = 14
#: The largest share of the terminal one column takes before the next ones get room.
WIDE_SHARE = 0.4
#: A cell's padding and its border: 3 characters per column, plus the outer border.
_PER_COLUMN = 3
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?(\+00:00|Z)$")


@dataclass(frozen=True)
class Col:
    """How one column behaves when the terminal is narrow.

    Attributes:
        name: the row key, shown as the header unless ``header`` is set.
        priority: lower is kept longer; None: the column's position.
        min_width: narrower than this the column is dropped instead; None: the header's
            width, or the widest cell up to ``DEFAULT_MIN``.
        preview: show the value as one line of ``key: value`` pairs, cut with ``…``;
            None: when every value in the column is a dict.
        header: the header text.
        keep: shown at least at its minimum width as long as the terminal allows,
            narrowing the other columns; the most important column always is.
    """

    name: str
    priority: float | None = None
    min_width: int | None = None
    preview: bool | None = None
    header: str | None = None
    keep: bool = False

    @property
    def title(self) -> str:
        """The header text."""
        return self.header or self.name


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return text if len(text) <= 24 else text[:23] + "…"


def preview(value: Any) -> str:
    """A dict as ``key: value, key: value`` (each value at most 24 characters); other
    values as compact JSON."""
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_short(v)}" for k, v in value.items())
    return cell(value)


def cell(value: Any) -> str:
    """A value as table text: JSON for lists and dicts; a UTC time in ISO 8601 as
    ``2026-07-01 12:00:00`` (to the second, and it can wrap between date and time)."""
    text = export_cell(value)
    match = _ISO.match(text)
    return f"{match.group(1)} {match.group(2)}" if match else text


def _natural(col: Col, texts: list[str]) -> int:
    widest = max((len(line) for t in texts for line in t.splitlines() or [""]), default=0)
    return max(len(col.title), widest)


def _minimum(col: Col, natural: int) -> int:
    floor = col.min_width or (PREVIEW_MIN if col.preview else DEFAULT_MIN)
    return min(natural, max(len(col.title), floor))


def _rank(cols: Sequence[Col]) -> list[int]:
    """Column indexes, most important first."""

    def rank(i: int) -> float:
        priority = cols[i].priority
        return float(i) if priority is None else priority

    return sorted(range(len(cols)), key=rank)


def layout(cols: Sequence[Col], texts: dict[str, list[str]], width: int) -> dict[str, int]:
    """The width of each column shown, in display order.

    1. Columns marked ``keep`` (and the most important column) get their minimum width.
    2. In priority order, a kept column widens to its preferred width (its widest cell,
       at most ``WIDE_SHARE`` of the terminal) and any other column is added at its
       preferred width while that fits; the first that does not fit gets the room left
       if that is at least its minimum, and no column after it is added.
    3. Room still left widens the kept columns to their widest cell, by priority.
    """
    natural = {c.name: _natural(c, texts[c.name]) for c in cols}
    minimum = {c.name: _minimum(c, natural[c.name]) for c in cols}
    cap = max(int(width * WIDE_SHARE), 1)
    prefer = {c.name: min(natural[c.name], max(minimum[c.name], cap)) for c in cols}
    order = [cols[i] for i in _rank(cols)]
    widths: dict[str, int] = {}
    for c in order:
        if not widths:  # the most important column, however narrow the terminal
            widths[c.name] = max(1, min(minimum[c.name], width - _used({}) - _PER_COLUMN))
        elif c.keep and _used(widths) + minimum[c.name] + _PER_COLUMN <= width:
            widths[c.name] = minimum[c.name]
    adding = True
    for c in order:
        room = width - _used(widths)
        if c.name in widths:
            widths[c.name] += max(0, min(room, prefer[c.name] - widths[c.name]))
        elif adding and prefer[c.name] + _PER_COLUMN <= room:
            widths[c.name] = prefer[c.name]
        elif adding:
            adding = False
            if room - _PER_COLUMN >= minimum[c.name]:
                widths[c.name] = room - _PER_COLUMN
    for c in order:
        if c.name in widths:
            widths[c.name] += max(0, min(width - _used(widths), natural[c.name] - widths[c.name]))
    return {c.name: widths[c.name] for c in cols if c.name in widths}


def _used(widths: dict[str, int]) -> int:
    """Characters taken by columns of these widths, borders and padding included."""
    return 1 + sum(w + _PER_COLUMN for w in widths.values())


def _with_preview(col: Col, rows: Sequence[dict[str, Any]]) -> Col:
    """``col`` with ``preview`` decided: a column of dicts is previewed."""
    if col.preview is not None:
        return col
    values = [row.get(col.name) for row in rows if row.get(col.name) is not None]
    is_dicts = bool(values) and all(isinstance(v, dict) for v in values)
    return dataclasses.replace(col, preview=is_dicts)


def table(
    rows: Sequence[dict[str, Any]],
    cols: Sequence[Col],
    *,
    width: int,
    title: str | None = None,
) -> RenderableType:
    """A Rich table of ``rows`` for a terminal ``width`` wide, with a line naming the
    columns left out when some are."""
    cols = [_with_preview(c, rows) for c in cols]
    texts = {
        c.name: [(preview if c.preview else cell)(row.get(c.name)) for row in rows] for c in cols
    }
    widths = layout(cols, texts, width)
    shown = [c for c in cols if c.name in widths]
    t = Table(title=title, header_style="bold cyan")
    for c in shown:
        t.add_column(
            c.title,
            width=widths[c.name],
            no_wrap=bool(c.preview),
            overflow="ellipsis" if c.preview else "fold",
        )
    for i in range(len(rows)):
        t.add_row(*(Text(texts[c.name][i]) for c in shown))
    dropped = [c.title for c in cols if c not in shown]
    if not dropped:
        return t
    note = Text(
        f"not shown at {width} columns: {', '.join(dropped)} (--format json has every field)",
        style="dim",
    )
    return Group(t, note)
