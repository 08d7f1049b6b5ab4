"""Per-app compiled evaluators, kept fresh by polling the app's ``flags_version``.

Several server processes may share one database: each checks the counter at most once
per ``check_interval`` seconds per app (one indexed primary-key read) and recompiles
only when it moved.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from eventkit.flags.evaluator import Evaluator
from eventkit.flags.store import flags_version, load_cohorts, load_specs

__all__ = ["EvaluatorCache"]


@dataclass
class _Entry:
    evaluator: Evaluator
    checked: float


class EvaluatorCache:
    """Compiled evaluators by app id."""

    def __init__(self, engine: Engine, check_interval: float = 1.0) -> None:
        self.engine = engine
        self.check_interval = check_interval
        self._entries: dict[int, _Entry] = {}
        self._lock = threading.Lock()

    def fresh(self, app_id: int) -> Evaluator | None:
        """The cached evaluator if checked within the interval (no I/O), else None."""
        entry = self._entries.get(app_id)
        if entry is not None and time.monotonic() - entry.checked < self.check_interval:
            return entry.evaluator
        return None

    def get(self, app_id: int) -> Evaluator:
        """The app's evaluator, re-checking the version when the interval passed."""
        hit = self.fresh(app_id)
        if hit is not None:
            return hit
        with self._lock:
            now = time.monotonic()
            entry = self._entries.get(app_id)
            if entry is not None:
                if now - entry.checked < self.check_interval:
                    return entry.evaluator
                if flags_version(self.engine, app_id) == entry.evaluator.version:
                    entry.checked = now
                    return entry.evaluator
            version, specs = load_specs(self.engine, app_id)
            evaluator = Evaluator(specs, version, load_cohorts(self.engine, app_id, specs))
            self._entries[app_id] = _Entry(evaluator, now)
            return evaluator

    def invalidate(self, app_id: int | None = None) -> None:
        """Forget one app's evaluator (or all)."""
        with self._lock:
            if app_id is None:
                self._entries.clear()
            else:
                self._entries.pop(app_id, None)
