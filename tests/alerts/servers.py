"""Real servers for delivery tests: an SMTP server (aiosmtpd) that requires STARTTLS
with a trustme certificate and AUTH, and a TCP server that accepts and never answers."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "alerts@example.com", "s3cret-pass"


@dataclass
class Mailbox:
    """What the SMTP server received."""

    host: str = "127.0.0.1"
    port: int = 0
    ca_file: str = ""
    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[dict[str, Any]] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def env(self) -> dict[str, str]:
        """``EVENTKIT_ALERTS__SMTP__*`` settings pointing at this server."""
        return {
            "EVENTKIT_ALERTS__SMTP__HOST": self.host,
            "EVENTKIT_ALERTS__SMTP__PORT": str(self.port),
            "EVENTKIT_ALERTS__SMTP__SECURITY": "starttls",
            "EVENTKIT_ALERTS__SMTP__USERNAME": USER,
            "EVENTKIT_ALERTS__SMTP__PASSWORD": PASSWORD,
            "EVENTKIT_ALERTS__SMTP__FROM_ADDRESS": "eventkit@example.com",
            "EVENTKIT_ALERTS__SMTP__CA_FILE": self.ca_file,
        }


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        with self.box.lock:
            self.box.messages.append(msg)
            self.box.envelopes.append({
                "from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                "tls": session.ssl is not None, "authenticated": session.authenticated,
            })  # fmt: skip
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(directory: Path) -> Iterator[Mailbox]:
    """An SMTP server on a free port that refuses mail without STARTTLS and AUTH."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_file = directory / "smtp-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    box = Mailbox(port=free_port(), ca_file=str(ca_file))

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                      data: Any) -> AuthResult:  # fmt: skip
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(), PASSWORD.encode())  # fmt: skip
        if ok:
            box.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        _Handler(box), hostname="127.0.0.1", port=box.port, tls_context=ctx,
        require_starttls=True, auth_required=True, auth_require_tls=True,
        authenticator=authenticator, ready_timeout=10,
    )  # fmt: skip
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@contextmanager
def silent_server() -> Iterator[str]:
    """A TCP server that accepts connections and never answers (a hung receiver);
    yields its http:// URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook"
    finally:
        stop.set()
        thread.join()
        for c in held:
            c.close()
        listener.close()


def closed_port_url() -> str:
    """An http:// URL nothing listens on (connection refused)."""
    return f"http://127.0.0.1:{free_port()}/down"
