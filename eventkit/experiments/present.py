"""Experiments as JSON-ready dicts: the shapes ``eventkit experiments list|results``
print and the web dashboard's ``.json`` pages serve."""

from __future__ import annotations

import dataclasses
from typing import Any

import msgspec

from eventkit.experiments.analysis import Readout
from eventkit.experiments.store import ExperimentRecord
from eventkit.timeutil import from_us

__all__ = ["experiment_row", "readout_dict"]


def _when(us: int | None) -> str | None:
    return from_us(us).isoformat(timespec="seconds") if us is not None else None


def experiment_row(r: ExperimentRecord) -> dict[str, Any]:
    """One row of ``experiments list``."""
    s = r.spec
    return {
        "key": s.key,
        "flag": s.flag,
        "status": r.status,
        "control": s.control,
        "variants": s.variants,
        "metric": s.primary.event,
        "window_hours": s.window_hours,
        "started_at": _when(r.started_at),
        "stopped_at": _when(r.stopped_at),
        "shipped": s.shipped_variant,
    }


def readout_dict(r: Readout, status: str) -> dict[str, Any]:
    """The readout as ``experiments results --format json`` prints it."""
    data = dataclasses.asdict(r)
    data["srm"] = r.srm
    data["status"] = status
    out: dict[str, Any] = msgspec.to_builtins(data)
    return out
