"""SIGKILL a process that writes through EventStore at random moments (merges of the
in-memory keys included), restart it, let it resend what it was writing: every event
whose commit returned is stored once, and no event is ever stored twice."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

from eventkit.config import Settings
from eventkit.storage.apps import create_app
from eventkit.storage.events import EventStore
from tests.factories import make_event

#: The writer: resend the batch it was writing when it died (a client's retry), then
#: write new batches forever, printing each batch's ids once its commit returned.
CHILD = r"""
import json, os, sys, uuid
from pathlib import Path
from eventkit.config import load_settings
from eventkit.storage.engine import make_engine
from eventkit.storage.events import EventStore
from tests.factories import make_event

url, app, state = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
engine = make_engine(load_settings(path=None, environ={"EVENTKIT_DATABASE_URL": url}))
store = EventStore(engine, memory_keys=25)
pending = state / "pending.json"

def write(batch):
    events = [make_event(app, event_id=uuid.UUID(i), timestamp=t, received_at=t + 5, ts=t)
              for i, t in batch]
    new = store.write(events)
    print(json.dumps({"batch": batch, "new": new}), flush=True)

print("ready", flush=True)
if pending.exists():
    write(json.loads(pending.read_text()))
n = 0
while True:
    n += 1
    t = 1_780_000_000_000_000 + n * 7_000_000 + os.getpid()
    batch = [(str(uuid.uuid4()), t + k) for k in range(7)]
    tmp = state / "pending.tmp"
    tmp.write_text(json.dumps(batch))
    os.replace(tmp, pending)
    write(batch)
"""


def test_killed_writers_lose_nothing_and_store_nothing_twice(
    settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    app = create_app(engine, "a").app_id
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    rnd = random.Random(7)
    committed: dict[str, int] = {}  # event id -> client time, for every returned commit
    for _ in range(4):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, settings.database_url, str(app), str(tmp_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n", child.stderr
        time.sleep(rnd.uniform(0.2, 1.0))  # some hundred commits, some merges
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=30)
        complete = out.splitlines() if out.endswith("\n") else out.splitlines()[:-1]
        assert complete, err
        for line in complete:
            doc = json.loads(line)
            for (eid, t), new in zip(doc["batch"], doc["new"], strict=True):
                if eid in committed:
                    assert not new, f"{eid} was stored again when resent"
                committed[eid] = t
    assert len(committed) > 100
    with engine.connect() as conn:
        total, distinct = conn.execute(
            text("SELECT count(*), count(DISTINCT event_id) FROM events WHERE app_id = :a"),
            {"a": app},
        ).one()
    assert total == distinct  # nothing stored twice, whatever was killed where
    assert total >= len(committed)  # every returned commit is there (maybe one more)
    # A fresh store (keys rebuilt from the database) finds every one of them.
    again = [
        make_event(app, event_id=uuid.UUID(eid), timestamp=t, received_at=t + 5, ts=t)
        for eid, t in committed.items()
    ]
    assert EventStore(engine).write(again) == [False] * len(again)
