"""Tables with fixed column widths: they do not jump as rows stream in or reload."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.widgets import DataTable

__all__ = ["add_columns"]


def add_columns(table: DataTable[Any], columns: Iterable[tuple[str, int]]) -> None:
    """Add ``(label, width)`` columns to ``table``."""
    for label, width in columns:
        table.add_column(label, width=width)
