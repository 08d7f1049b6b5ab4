"""What a running server holds: engine, writer, services, metrics.

Built once per process by ``create_app`` (or by a test); the HTTP handlers of every
protocol reach the services through it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.flags.service import FlagService
from eventkit.ingest.committers import LocalCommitter, RemoteCommitter
from eventkit.ingest.pipeline import Pipeline
from eventkit.ingest.service import CaptureService
from eventkit.ingest.spool import Spool
from eventkit.ingest.writer import GroupCommitWriter
from eventkit.ingest.writerd import SOCKET_ENV
from eventkit.metrics import Metrics
from eventkit.plugins.sinks import sink_dispatcher
from eventkit.storage.engine import make_engine
from eventkit.storage.events import EventStore

__all__ = ["Runtime"]

log = logging.getLogger("eventkit.server")


@dataclass
class Runtime:
    """The server's long-lived objects, built at startup, closed at shutdown."""

    settings: Settings
    engine: Engine
    metrics: Metrics
    writer: GroupCommitWriter
    capture: CaptureService
    flags: FlagService
    started: bool = field(default=False)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        """Create the engine and services (nothing is started)."""
        engine = make_engine(settings)
        metrics = Metrics()
        socket_path = os.environ.get(SOCKET_ENV)
        committer = (
            RemoteCommitter(socket_path)
            if socket_path
            else LocalCommitter(EventStore(engine, memory_keys=settings.ingest.dedup_memory_keys))
        )
        sp = settings.spool
        spool = (
            Spool(Path(sp.directory), max_bytes=sp.max_bytes, segment_bytes=sp.segment_bytes)
            if sp.enabled
            else None
        )
        writer = GroupCommitWriter(
            committer,
            settings.ingest,
            metrics,
            spool=spool,
            spool_after_seconds=sp.after_seconds,
        )
        capture = CaptureService(
            settings, writer, metrics, Pipeline(settings, engine), sink_dispatcher(settings)
        )
        # Exposures enter like every other event: through the ingest service.
        flags = FlagService(engine, partial(capture.store_server_events, source="flags"))
        return cls(settings, engine, metrics, writer, capture, flags)
