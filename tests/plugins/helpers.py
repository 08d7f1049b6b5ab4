"""Helpers of the plugin tests: batches over the in-process API, stored rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from eventkit.storage.models import EVENTS


def batch(*names: str, **fields: Any) -> dict[str, Any]:
    """A capture body with one event per name."""
    now = datetime.now(UTC).isoformat()
    events = [
        {"event_id": str(uuid.uuid4()), "name": n, "timestamp": now, "anonymous_id": "d1", **fields}
        for n in names
    ]
    return {"sent_at": now, "events": events}


def stored(engine: Engine, app_id: int) -> dict[str, dict[str, Any]]:
    """Stored events of an app by name: ``{name: {"properties", "context", "ip", ...}}``."""
    with engine.connect() as conn:
        rows = conn.execute(select(EVENTS).where(EVENTS.c.app_id == app_id)).mappings().all()
    return {r["name"]: dict(r) for r in rows}


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        metric_name, _, rest = key.partition("{")
        got = ",".join(sorted(rest.rstrip("}").split(","))) if rest else ""
        if metric_name == name and got == want:
            return float(value)
    return 0.0
