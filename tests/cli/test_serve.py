"""The free-port check of ``eventkit serve``: connections in TIME-WAIT do not block a
restart; a socket listening on the port (granian's SO_REUSEPORT included) does."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from eventkit.cli.serve import _check_port_free
from eventkit.errors import ConfigError


def time_wait(port: int) -> int:
    """TCP connections in TIME-WAIT whose local port is ``port``."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "06" and int(local.split(":")[1], 16) == port:
            count += 1
    return count


def leave_time_wait(n: int = 5) -> int:
    """A port whose listener is closed and whose server side closed ``n`` connections
    first (as a server does after a response with ``Connection: close``)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = int(listener.getsockname()[1])
    for _ in range(n):
        client = socket.create_connection(("127.0.0.1", port))
        conn, _ = listener.accept()
        conn.close()  # the side that closes first keeps the TIME-WAIT
        client.recv(1)
        client.close()
    listener.close()
    return port


def test_a_port_with_only_time_wait_connections_is_free() -> None:
    port = leave_time_wait()
    assert time_wait(port) > 0
    # The regression: a probe without SO_REUSEADDR is refused for about a minute.
    with socket.socket() as naive, pytest.raises(OSError):
        naive.bind(("127.0.0.1", port))
    _check_port_free("127.0.0.1", port)


@pytest.mark.parametrize("reuseport", [False, True], ids=["plain", "reuseport"])
def test_a_port_another_server_listens_on_is_refused(reuseport: bool) -> None:
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuseport:  # as granian binds: a second SO_REUSEPORT bind would share it
            other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = int(other.getsockname()[1])
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            _check_port_free("127.0.0.1", port)
        with pytest.raises(ConfigError):
            _check_port_free("0.0.0.0", port)


def test_the_app_is_imported_and_frozen_before_granian_forks_its_workers() -> None:
    """What the workers share with the main process: the factory's module is loaded
    and the objects made so far are out of the collector's reach (issue 19)."""
    import gc
    import subprocess
    import sys

    code = (
        "import gc, sys\n"
        "from eventkit.cli import serve\n"
        "assert 'eventkit.api.app' not in sys.modules\n"
        "serve._preload(serve.FACTORY)\n"
        "assert 'eventkit.api.app' in sys.modules and 'litestar' in sys.modules\n"
        "print(gc.get_freeze_count())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert int(out.stdout.strip()) > 10_000
    assert gc.get_freeze_count() == 0  # nothing frozen in the test process itself
