"""Reports and rows as the text scripts read: JSON and CSV, byte for byte what the CLI
prints with ``--format json|csv`` (the web dashboard's ``.json`` and ``.csv`` pages are
the same text)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

__all__ = ["cell", "csv_text", "json_text"]


def json_text(value: Any) -> str:
    """Indented JSON with a final newline (``--format json``)."""
    return json.dumps(value, indent=2, default=str) + "\n"


def cell(value: Any) -> str:
    """One CSV or table cell: empty for None, compact JSON for objects and lists."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), default=str, ensure_ascii=False)
    return str(value)


def csv_text(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """CSV with a header row (``--format csv``); columns default to the first row's keys."""
    cols = list(columns or (rows[0].keys() if rows else []))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: cell(row.get(c)) for c in cols})
    return buf.getvalue()
