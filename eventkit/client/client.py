"""``eventkit.client.Client``: the first-party Python client of the native API.

Calls return at once: events go to the outbox (on disk with ``queue_path``) and a
background thread sends them in batches of ``batch_size`` every ``flush_interval``
seconds, retrying with backoff until the server acknowledges. ``flush()`` waits for
the outbox to drain; ``shutdown()`` flushes and stops the thread (what is not sent
stays on disk for the next start).
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from eventkit.client.flags import FlagCache
from eventkit.client.queue import Outbox
from eventkit.client.transport import Backoff, GaveUpError, StoppedError, post_with_retry

__all__ = ["Client", "ClientStats", "KeyRefusedError"]

log = logging.getLogger("eventkit.client")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class KeyRefusedError(Exception):
    """The server refused the write key (401/403); the items stay queued."""


class ClientStats:
    """What the client did since it started (``dropped`` since the queue file was made)."""

    def __init__(self) -> None:
        self.sent = 0
        self.duplicates = 0
        self.rejected = 0
        self.failed_batches = 0
        self.last_error: str | None = None


class Client:
    """Send events and identify calls to an eventkit server; evaluate flags.

    Args:
        url: the server (``https://analytics.example.com``).
        write_key: the app's write key.
        queue_path: SQLite file of the outbox; ``None`` keeps it in memory.
        max_queue: most items kept queued; beyond, the oldest are dropped and counted.
        batch_size: events per request (at most the server's limits.max_batch_events).
        flush_interval: seconds between background sends.
        max_attempts: attempts per request before giving up; ``None`` retries forever
            (offline-first: items stay queued until the server is back).
        backoff: retry delays.
        timeout: seconds per HTTP request.
        verify: TLS verification: False, an SSL context, or the path of a CA bundle
            (a private CA or a self-signed certificate).
        transport: an httpx transport (tests, custom networking).
        start: start the background thread now.
    """

    def __init__(
        self,
        url: str,
        write_key: str,
        *,
        queue_path: str | Path | None = None,
        max_queue: int = 10_000,
        batch_size: int = 100,
        flush_interval: float = 1.0,
        max_attempts: int | None = None,
        backoff: Backoff | None = None,
        timeout: float = 10.0,
        verify: bool | str | ssl.SSLContext = True,
        transport: httpx.BaseTransport | None = None,
        start: bool = True,
    ) -> None:
        self.url = url.rstrip("/")
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.max_attempts = max_attempts
        self.backoff = backoff or Backoff()
        self.outbox = Outbox(queue_path, max_queue)
        self.stats = ClientStats()
        self._http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {write_key}", "Content-Type": "application/json"},
            timeout=timeout,
            verify=ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify,
            transport=transport,
        )
        self.flags = FlagCache(self._http)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition()
        self._thread: threading.Thread | None = None
        if start:
            self.start()

    # -- recording ------------------------------------------------------------------

    def track(
        self,
        name: str,
        *,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        properties: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        session_id: str | None = None,
        timestamp: datetime | None = None,
        event_id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Queue an event; returns its event id (the server's dedup key)."""
        eid = event_id or uuid.uuid4()
        when = timestamp.astimezone(UTC).isoformat() if timestamp else _now()
        body: dict[str, Any] = {"event_id": str(eid), "name": name, "timestamp": when}
        for key, value in (
            ("user_id", user_id),
            ("anonymous_id", anonymous_id),
            ("session_id", session_id),
            ("properties", properties),
            ("context", context),
        ):
            if value is not None:
                body[key] = value
        self._enqueue([("event", body)])
        return eid

    def identify(
        self,
        user_id: str,
        *,
        anonymous_id: str | None = None,
        set: dict[str, Any] | None = None,
        set_once: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
    ) -> uuid.UUID:
        """Queue an identify call (link ``anonymous_id`` to ``user_id``, set traits)."""
        eid = uuid.uuid4()
        body: dict[str, Any] = {
            "user_id": user_id,
            "event_id": str(eid),
            "timestamp": _now(),
            "set": set or {},
            "set_once": set_once or {},
            "context": context or {},
        }
        if anonymous_id is not None:
            body["anonymous_id"] = anonymous_id
        self._enqueue([("identify", body)])
        return eid

    def _enqueue(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        dropped = self.outbox.put(items)
        if dropped:
            log.warning("outbox full: dropped the %d oldest queued items", dropped)
        if len(self.outbox) >= self.batch_size:
            self._wake.set()

    @property
    def dropped(self) -> int:
        """Items dropped because the outbox was full (persisted with the queue file)."""
        return self.outbox.dropped

    # -- sending --------------------------------------------------------------------

    def send_batch(self, events: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        """Send native events now, in this thread, with retries; returns the status and
        the server's verdict (``accepted``, ``duplicates``, ``rejected``)."""
        resp = self._post_events(events, stop=None)
        body: dict[str, Any] = resp.json()
        return resp.status_code, body

    def _post_events(
        self, events: list[dict[str, Any]], stop: threading.Event | None
    ) -> httpx.Response:
        return post_with_retry(
            self._http,
            "/v1/events",
            lambda: json.dumps({"sent_at": _now(), "events": events}).encode(),
            backoff=self.backoff,
            max_attempts=self.max_attempts,
            stop=stop,
        )

    def _send_events(self, items: list[tuple[int, str, dict[str, Any]]]) -> None:
        events = [body for _, _, body in items]
        self._account(self._post_events(events, stop=self._stop), len(events))

    def _send_identify(self, body: dict[str, Any]) -> None:
        resp = post_with_retry(
            self._http,
            "/v1/identify",
            lambda: json.dumps({**body, "sent_at": _now()}).encode(),
            backoff=self.backoff,
            max_attempts=self.max_attempts,
            stop=self._stop,
        )
        self._account(resp, 1)

    def _account(self, resp: httpx.Response, n: int) -> None:
        try:
            verdict = resp.json()
        except ValueError:
            verdict = {}
        if resp.status_code < 300:
            self.stats.sent += int(verdict.get("accepted", n - int(verdict.get("duplicate", 0))))
            self.stats.duplicates += int(verdict.get("duplicates", 0)) + int(
                bool(verdict.get("duplicate"))
            )
            self.stats.rejected += len(verdict.get("rejected", []))
            return
        message = f"HTTP {resp.status_code}: {verdict.get('message', resp.text)}"
        if resp.status_code in (401, 403):
            # A wrong or revoked key is a configuration error, not bad events: keep
            # them queued until the key is fixed.
            raise KeyRefusedError(message)
        # Any other final 4xx: resending the same events cannot succeed.
        self.stats.failed_batches += 1
        self.stats.rejected += n
        self.stats.last_error = message
        log.error("eventkit refused %d queued items: %s", n, self.stats.last_error)

    def _step(self) -> bool:
        """Send the oldest run of queued items; False when the outbox is empty."""
        items = self.outbox.peek(self.batch_size)
        if not items:
            return False
        run = [items[0]]
        if items[0][1] == "event":
            run = []
            for item in items:
                if item[1] != "event":
                    break
                run.append(item)
            self._send_events(run)
        else:
            self._send_identify(items[0][2])
        self.outbox.remove([i for i, _, _ in run])
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                while not self._stop.is_set() and self._step():
                    pass
            except StoppedError:
                break
            except KeyRefusedError as exc:
                self.stats.last_error = str(exc)
                log.error("eventkit refused the write key; events stay queued: %s", exc)
                if self._stop.wait(self.backoff.maximum):
                    break
            except GaveUpError as exc:
                self.stats.failed_batches += 1
                self.stats.last_error = str(exc)
                log.warning("could not reach eventkit, will retry: %s", exc)
            except Exception as exc:  # keep the thread alive; the items stay queued
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("eventkit client send failed")
            with self._idle:
                self._idle.notify_all()
            self._wake.wait(self.flush_interval)
            self._wake.clear()

    def start(self) -> None:
        """Start the background sender (idempotent)."""
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="eventkit-client", daemon=True)
            self._thread.start()

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until every queued item is acknowledged; False if ``timeout`` passed
        first (the server is unreachable: the items stay queued)."""
        if not len(self.outbox):
            return True
        self.start()  # a client made with start=False sends from its thread too
        deadline = None if timeout is None else time.monotonic() + timeout
        while len(self.outbox):
            self._wake.set()
            with self._idle:
                self._idle.wait(0.05)
            if deadline is not None and time.monotonic() >= deadline:
                return False
        return True

    def shutdown(self, timeout: float | None = 10.0) -> bool:
        """Flush (up to ``timeout``), stop the sender and close the queue and
        connections; returns True when nothing is left queued."""
        done = self.flush(timeout)
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._http.close()
        self.outbox.close()
        return done

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
