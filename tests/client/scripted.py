"""A real HTTP server on localhost that answers from a script (status, headers, body)
and records each request: for client behaviour eventkit itself will not produce on
demand (503 with Retry-After, flapping)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Scripted", "scripted_server"]


class Scripted:
    """The script (answers used in order, the last one repeats) and the requests seen."""

    def __init__(self, answers: list[tuple[int, dict[str, str], Any]]) -> None:
        self.answers = answers
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.url = ""

    def next(self) -> tuple[int, dict[str, str], Any]:
        i = min(len(self.requests) - 1, len(self.answers) - 1)
        return self.answers[i]


@contextmanager
def scripted_server(answers: list[tuple[int, dict[str, str], Any]]) -> Iterator[Scripted]:
    script = Scripted(answers)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            script.requests.append((self.path, dict(self.headers), body))
            status, headers, payload = script.next()
            data = json.dumps(payload).encode()
            self.send_response(status)
            for k, v in {"Content-Type": "application/json", **headers}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    script.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()
