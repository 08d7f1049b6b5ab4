"""Retries: backoff bounds, Retry-After (seconds and HTTP date), final answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from eventkit.client.transport import Backoff, GaveUpError, post_with_retry, retry_after
from tests.client.scripted import scripted_server
from tests.e2e.conftest import free_port


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    b = Backoff(base=1.0, maximum=8.0)
    for n, cap in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (10, 8.0)]:
        delays = [b.delay(n) for _ in range(200)]
        assert all(cap / 2 <= d <= cap for d in delays), (n, min(delays), max(delays))
    assert b.delay(5, server_hint=3.0) == 3.0
    assert Backoff(max_retry_after=60).delay(0, server_hint=1e6) == 60


def test_retry_after_forms() -> None:
    assert retry_after("7") == 7.0
    assert retry_after(None) is None and retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    got = retry_after(later)
    assert got is not None and 25 <= got <= 30


def test_retries_overload_then_returns_the_answer() -> None:
    answers = [(503, {"Retry-After": "3"}, {}), (429, {}, {}), (200, {}, {"accepted": 1})]
    slept: list[float] = []
    with scripted_server(answers) as srv, httpx.Client(base_url=srv.url) as http:
        resp = post_with_retry(
            http,
            "/v1/events",
            lambda: b"{}",
            backoff=Backoff(base=0.5),
            max_attempts=None,
            sleep=slept.append,
        )
        assert resp.status_code == 200
        assert len(srv.requests) == 3
    assert slept[0] == 3.0  # the server's Retry-After
    assert 0.5 <= slept[1] <= 1.0  # second retry: jittered 2 * 0.5


def test_a_final_4xx_is_not_retried() -> None:
    with (
        scripted_server([(400, {}, {"message": "bad"})]) as srv,
        httpx.Client(base_url=srv.url) as http,
    ):
        resp = post_with_retry(
            http, "/x", lambda: b"{}", backoff=Backoff(), max_attempts=5, sleep=lambda _: None
        )
        assert resp.status_code == 400 and len(srv.requests) == 1


def test_gives_up_after_max_attempts_on_connection_errors() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with httpx.Client(base_url=url) as http, pytest.raises(GaveUpError, match="3 attempts"):
        post_with_retry(
            http, "/x", lambda: b"{}", backoff=Backoff(), max_attempts=3, sleep=lambda _: None
        )
