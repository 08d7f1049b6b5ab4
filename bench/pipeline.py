"""Ingest pipeline benchmark: what tracking plans and privacy policies cost per event.

    python bench/pipeline.py            # ~10 s
    python bench/pipeline.py --quick    # ~2 s, for a CI smoke run

Batches of 100 native events (properties as the client's JSON text, as on the real
capture path) run through ``Pipeline.run`` on a fresh SQLite file. Each scenario is
reported in events/s and as a ratio to two figures measured in the same run:

- ``ip only``: the pipeline before tracking plans and privacy (one stage reducing the
  client IP), the baseline the new stages add to;
- ``validate``: ``CaptureService.validate_batch`` on the same batches (decoding and
  checking the events), the work every event already costs before the pipeline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from eventkit.capture.ip import anonymize_ip  # noqa: E402
from eventkit.config import load_settings  # noqa: E402
from eventkit.ingest.pipeline import Batch, Pipeline  # noqa: E402
from eventkit.ingest.service import CaptureService  # noqa: E402
from eventkit.metrics import Metrics  # noqa: E402
from eventkit.privacy.erasure import write_tombstones  # noqa: E402
from eventkit.privacy.policy import set_privacy_settings  # noqa: E402
from eventkit.storage.apps import create_app  # noqa: E402
from eventkit.storage.engine import make_engine, writer  # noqa: E402
from eventkit.storage.migrate import upgrade  # noqa: E402
from eventkit.tracking.plan import parse_plan  # noqa: E402
from eventkit.tracking.store import push_plan, set_plan_mode  # noqa: E402

PLAN = """
events:
  purchase:
    schema:
      type: object
      required: [price, currency]
      properties:
        price: {type: number, minimum: 0}
        currency: {type: string, enum: [EUR, USD]}
        screen_name: {type: string}
        email: {type: string}
      additionalProperties: false
"""


def body(n: int, *, email: bool, bad_every: int = 0) -> bytes:
    now = time.time() * 1000
    events = []
    for i in range(n):
        props: dict[str, Any] = {"price": 9.5, "currency": "EUR", "screen_name": "cart"}
        if email:
            props["email"] = f"user{i}@example.com"
        if bad_every and i % bad_every == 0:
            props["price"] = "9.5"
        events.append(
            {"event_id": str(uuid.uuid4()), "name": "purchase", "timestamp": now,
             "user_id": f"user-{i % 20}", "anonymous_id": f"dev-{i % 20}", "properties": props,
             "context": {"os": {"name": "iOS", "version": "18.1"}}}
        )  # fmt: skip
    return json.dumps({"events": events}).encode()


def ip_only(batch: Batch) -> None:
    """The pipeline's only stage before tracking plans and privacy (ip_stage)."""
    last: str | None = None
    reduced: str | None = None
    for ev in batch.events:
        if ev.ip is None:
            continue
        if ev.ip != last:
            last, reduced = ev.ip, anonymize_ip(ev.ip)
        ev.ip = reduced


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    seconds = 0.3 if args.quick else 1.5
    tmp = tempfile.mkdtemp()
    settings = load_settings(environ={"EVENTKIT_DATABASE_URL": f"sqlite:///{tmp}/bench.db"})
    engine = make_engine(settings)
    upgrade(engine)
    apps = {name: create_app(engine, name).app_id for name in
            ("plain", "warn", "enforce", "scrub", "tombstones")}  # fmt: skip
    plan = parse_plan(PLAN)
    with writer(engine).begin() as conn:
        for name in ("warn", "enforce"):
            set_plan_mode(conn, apps[name], name)  # type: ignore[arg-type]
        set_privacy_settings(conn, apps["scrub"], scrub=["*email*=hash", "phone=drop"])
        write_tombstones(conn, apps["tombstones"], [f"gone-{i}" for i in range(1000)])
    for name in ("warn", "enforce"):
        push_plan(engine, apps[name], plan, "bench")
    capture = CaptureService(settings, None, Metrics())  # type: ignore[arg-type]
    pipeline = Pipeline(settings, engine)

    def batches(app: str, **kw: Any) -> tuple[int, bytes]:
        return apps[app], body(100, **kw)

    def rate(run: Any, source: tuple[int, bytes]) -> float:
        """Events/s of ``run`` alone, on freshly validated batches (stages rewrite
        events in place, so each batch is used once; validation is not timed)."""
        app_id, data = source
        done, spent = 0, 0.0
        while spent < seconds:
            evs = capture.validate_batch(app_id, data, ip="203.0.113.77")[0]
            batch = Batch(app_id, "native", evs, list(range(len(evs))), [])
            start = time.perf_counter()
            run(batch)
            spent += time.perf_counter() - start
            done += len(evs)
        return done / spent

    loop = asyncio.new_event_loop()
    run_pipeline = lambda b: loop.run_until_complete(pipeline.run(b))  # noqa: E731
    plain = batches("plain", email=False)
    raw = body(100, email=False)
    start, n = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        capture.validate_batch(apps["plain"], raw, ip="203.0.113.77")
        n += 100
    validate = n / (time.perf_counter() - start)
    base = rate(ip_only, plain)
    rows = [
        ("ip only (before)", base),
        ("validate (reference)", validate),
        ("nothing configured", rate(run_pipeline, plain)),
        ("plan warn, all valid", rate(run_pipeline, batches("warn", email=False))),
        ("plan enforce, 10% bad", rate(run_pipeline, batches("enforce", email=False, bad_every=10))),  # noqa: E501
        ("scrub, no candidate", rate(run_pipeline, batches("scrub", email=False))),
        ("scrub, email hashed", rate(run_pipeline, batches("scrub", email=True))),
        ("1000 tombstones", rate(run_pipeline, batches("tombstones", email=False))),
    ]  # fmt: skip
    print(f"{'scenario':<24} {'events/s':>12} {'µs/event':>9} {'+µs vs ip only':>15}"
          f" {'share of validate':>18}")  # fmt: skip
    for name, r in rows:
        extra = 1e6 / r - 1e6 / base
        share = (1e6 / r) / (1e6 / validate)
        print(f"{name:<24} {r:>12,.0f} {1e6 / r:>9.2f} {extra:>15.2f} {share:>17.0%}")
    engine.dispose()


if __name__ == "__main__":
    main()
