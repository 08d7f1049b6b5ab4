"""Request bodies like a mobile SDK's, and the Python fallback load generator.

``bench/wrk/ingest.lua`` is the load generator of choice; this module builds the same
bodies in Python (for the raw-SQLite baseline's rows, and for the fallback used when
``wrk`` is not installed). The fallback runs several processes of asyncio clients over
raw keep-alive HTTP/1.1 sockets; it costs far more CPU per request than wrk, so on a
small machine it competes with the server and understates throughput.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_OS = [
    ("iOS", ["17.4.1", "17.5", "18.0", "18.1"], "Apple", ["iPhone15,2", "iPhone14,5"], "ios"),
    ("Android", ["13", "14", "15"], "samsung", ["SM-S918B", "SM-A546B", "Pixel 8"], "android"),
]
_LOCALES = ["en-US", "de-DE", "fr-FR", "ja-JP", "pt-BR"]
_ZONES = ["America/New_York", "Europe/Berlin", "Europe/Paris", "Asia/Tokyo", "America/Sao_Paulo"]
_SCREENS = ["Home", "Feed", "Search", "Product", "Cart", "Checkout", "Settings", "Profile"]
_BUTTONS = ["add_to_cart", "buy_now", "share", "like", "follow", "subscribe"]


def rfc3339(t: float) -> str:
    """Epoch seconds as RFC 3339 UTC with milliseconds."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Device:
    """One simulated app install: its ids and the context its SDK attaches."""

    anon: str
    session: str
    ctx: str


def make_device(rng: random.Random) -> Device:
    os_name, versions, maker, models, lib = rng.choice(_OS)
    version = f"{rng.randint(2, 4)}.{rng.randint(0, 9)}.{rng.randint(0, 20)}"
    ctx = (
        f'{{"app":{{"version":"{version}"}},'
        f'"os":{{"name":"{os_name}","version":"{rng.choice(versions)}"}},'
        f'"device":{{"manufacturer":"{maker}","model":"{rng.choice(models)}"}},'
        f'"locale":"{rng.choice(_LOCALES)}","timezone":"{rng.choice(_ZONES)}",'
        f'"library":{{"name":"eventkit-{lib}","version":"1.4.2"}}}}'
    )
    return Device(str(uuid.uuid4()), str(uuid.uuid4()), ctx)


def _properties(rng: random.Random) -> tuple[str, str]:
    kind = rng.randint(1, 3)
    if kind == 1:
        return "screen_view", (
            f'{{"screen":"{rng.choice(_SCREENS)}","duration_ms":{rng.randint(50, 60000)}}}'
        )
    if kind == 2:
        return "button_tap", (
            f'{{"button":"{rng.choice(_BUTTONS)}","screen":"{rng.choice(_SCREENS)}",'
            f'"position":{rng.randint(0, 20)}}}'
        )
    return "purchase", (
        f'{{"product_id":"sku-{rng.randint(1000, 99999)}","price":{rng.randint(1, 300)}.'
        f'{rng.randint(0, 99):02d},"currency":"EUR","quantity":{rng.randint(1, 3)}}}'
    )


class BodyFactory:
    """Builds ``POST /v1/events`` bodies: one device's batch, fresh UUID v4 per event."""

    def __init__(self, seed: int | None = None, devices: int = 500) -> None:
        self.rng = random.Random(seed)
        self.devices = [make_device(self.rng) for _ in range(devices)]

    def body(self, batch: int) -> bytes:
        rng = self.rng
        d = rng.choice(self.devices)
        t = time.time()
        parts = []
        for i in range(batch):
            name, props = _properties(rng)
            ts = rfc3339(t - (batch - 1 - i) * 0.5 - rng.random() * 0.4)
            parts.append(
                f'{{"event_id":"{uuid.uuid4()}","name":"{name}","timestamp":"{ts}",'
                f'"anonymous_id":"{d.anon}","session_id":"{d.session}",'
                f'"properties":{props},"context":{d.ctx}}}'
            )
        return f'{{"sent_at":"{rfc3339(t)}","events":[{",".join(parts)}]}}'.encode()


# ------------------------------------------------------------------ fallback client


@dataclass
class ClientResult:
    """What one client process saw (same fields as the wrk script's summary)."""

    received: int = 0
    ok: int = 0
    not_ok: int = 0
    acked_events: int = 0
    acked_in_window: int = 0
    ok_in_window: int = 0
    accepted: int = 0
    duplicates: int = 0
    socket_errors: int = 0
    latencies: list[float] = field(default_factory=list)
    first_errors: list[str] = field(default_factory=list)


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _connection(
    host: str, port: int, key: str, batch: int, deadline: float, out: ClientResult, seed: int
) -> None:
    bodies = BodyFactory(seed, devices=50)
    head = (
        f"POST /v1/events HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {key}\r\nUser-Agent: eventkit-mobile/1.4.2 (bench)\r\n"
        "Content-Length: %d\r\n\r\n"
    )
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.time() < deadline:
            body = bodies.body(batch)
            started = time.perf_counter()
            writer.write((head % len(body)).encode() + body)
            try:
                status, resp = await _read_response(reader)
            except (OSError, asyncio.IncompleteReadError) as exc:
                out.socket_errors += 1
                out.first_errors.append(f"socket: {exc!r}")
                return
            out.latencies.append(time.perf_counter() - started)
            out.received += 1
            if status == 200:
                out.ok += 1
                out.acked_events += batch
                if time.time() <= deadline:
                    out.acked_in_window += batch
                    out.ok_in_window += 1
                doc = json.loads(resp)
                out.accepted += int(doc.get("accepted", 0))
                out.duplicates += int(doc.get("duplicates", 0))
            else:
                out.not_ok += 1
                if not out.first_errors:
                    out.first_errors.append(f"{status} {resp[:300]!r}")
    finally:
        writer.close()


def _process(args: tuple[str, int, str, int, float, int, int], queue: Any) -> None:
    host, port, key, batch, window, conns, seed = args
    out = ClientResult()
    deadline = time.time() + window

    async def main() -> None:
        await asyncio.gather(
            *(
                _connection(host, port, key, batch, deadline, out, seed * 1000 + i)
                for i in range(conns)
            )
        )

    asyncio.run(main())
    queue.put(out)


def run_python_clients(
    host: str, port: int, key: str, batch: int, window: float, connections: int, processes: int
) -> dict[str, Any]:
    """Run the fallback load; returns the same summary shape as the wrk script."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    per = [
        connections // processes + (1 if i < connections % processes else 0)
        for i in range(processes)
    ]
    procs = [
        ctx.Process(
            target=_process,
            args=((host, port, key, batch, window, n, random.getrandbits(30)), queue),
            daemon=True,
        )
        for n in per
        if n
    ]
    started = time.time()
    for p in procs:
        p.start()
    results: list[ClientResult] = []
    try:
        for _ in procs:
            results.append(queue.get(timeout=window + 60))
    finally:
        for p in procs:
            p.join(timeout=5)
            if p.is_alive():
                p.kill()
    lat = sorted(x for r in results for x in r.latencies)

    def pct(p: float) -> int:
        return int(lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1e6) if lat else 0

    total = {
        name: sum(getattr(r, name) for r in results)
        for name in (
            "received", "ok", "not_ok", "acked_events", "acked_in_window",
            "ok_in_window", "accepted", "duplicates",
        )
    }  # fmt: skip
    return {
        **total,
        "drained": len(results),
        "threads": len(results),
        "wrk_duration_us": int((time.time() - started) * 1e6),
        "socket_errors": {"other": sum(r.socket_errors for r in results)},
        "latency_us": {
            "p50": pct(50),
            "p90": pct(90),
            "p99": pct(99),
            "max": int(lat[-1] * 1e6) if lat else 0,
            "mean": sum(lat) / len(lat) * 1e6 if lat else 0.0,
        },
        "first_errors": [e for r in results for e in r.first_errors][:3],
    }
