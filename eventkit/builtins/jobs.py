"""Scheduled-job glue shared by the built-in registrations."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.plugins.specs import JobSpec
from eventkit.storage.engine import make_engine

__all__ = ["engine_job"]


def engine_job(
    settings: Settings,
    body: Callable[[Engine], Any],
    *,
    id: str,
    seconds: float,
    description: str,
) -> JobSpec:
    """A job whose every run opens and disposes its own engine (once a minute or an
    hour that costs nothing, and no connection outlives the run); runs never overlap
    within a process."""
    lock = threading.Lock()

    def run() -> None:
        with lock:
            engine = make_engine(settings)
            try:
                body(engine)
            finally:
                engine.dispose()

    return JobSpec(id=id, func=run, seconds=seconds, description=description)
