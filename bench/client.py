"""The Python client against a real ``eventkit serve``: one request per event (the
baseline a script without a client would do, measured in the same run) versus
``eventkit.client.Client`` (outbox on disk, batches, background sender).

    python bench/client.py            # 5000 events each way
    python bench/client.py --quick    # 500: a smoke run
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from harness import start_eventkit, stop_all

from eventkit.client import Client


def one_request_per_event(url: str, key: str, n: int) -> float:
    started = time.perf_counter()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as http:
        for i in range(n):
            now = datetime.now(UTC).isoformat()
            ev = {
                "event_id": str(uuid.uuid4()),
                "name": "bench_plain",
                "timestamp": now,
                "anonymous_id": "bench-dev",
                "properties": {"i": i},
            }
            r = http.post("/v1/events", json={"sent_at": now, "events": [ev]})
            r.raise_for_status()
    return n / (time.perf_counter() - started)


def with_client(url: str, key: str, n: int, queue: Path) -> float:
    started = time.perf_counter()
    with Client(url, key, queue_path=queue, batch_size=100, flush_interval=0.05) as ek:
        for i in range(n):
            ek.track("bench_client", anonymous_id="bench-dev", properties={"i": i})
        if not ek.flush(120):
            raise SystemExit(f"the client did not drain: {ek.stats.last_error}")
        assert ek.stats.sent == n, ek.stats.__dict__
    return n / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help="500 events: a smoke run")
    args = parser.parse_args()
    n = 500 if args.quick else args.events
    with tempfile.TemporaryDirectory(prefix="eventkit-bench-client-") as tmp:
        try:
            srv = start_eventkit("granian", 1, Path(tmp))
            url = f"http://127.0.0.1:{srv.port}"
            base = one_request_per_event(url, srv.key or "", n)
            client = with_client(url, srv.key or "", n, Path(tmp) / "outbox.db")
        finally:
            stop_all()
    print(f"events: {n}")
    print(f"baseline, one request per event: {base:10.0f} events/s")
    print(f"eventkit.client (disk outbox):   {client:10.0f} events/s  ({client / base:.1f}x)")


if __name__ == "__main__":
    main()
