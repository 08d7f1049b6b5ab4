"""``eventkit serve --tls-cert --tls-key``: HTTPS served directly (granian and uvicorn),
with a self-signed CA made in the test; mobile SDK paths and the Python client over it."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import trustme
from sqlalchemy.engine import Engine

from eventkit.client import Client
from eventkit.storage.engine import make_engine
from tests.conftest import make_settings
from tests.e2e.conftest import _KEY, READY_TIMEOUT, free_port, stored

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A throwaway CA, and a certificate for localhost/127.0.0.1 signed by it."""
    authority = trustme.CA()
    cert = authority.issue_cert("localhost", "127.0.0.1")
    d = tmp_path_factory.mktemp("tls")
    ca_pem, cert_pem, key_pem = d / "ca.pem", d / "cert.pem", d / "key.pem"
    authority.cert_pem.write_to_path(str(ca_pem))
    cert.private_key_pem.write_to_path(str(key_pem))
    for i, blob in enumerate(cert.cert_chain_pems):
        blob.write_to_path(str(cert_pem), append=i > 0)
    return ca_pem, cert_pem, key_pem


def _serve(
    database_url: str, log_dir: Path, args: list[str], env: dict[str, str]
) -> tuple[subprocess.Popen[str], int]:
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("EVENTKIT_")}
    environ.update(
        {
            "EVENTKIT_DATABASE_URL": database_url,
            "EVENTKIT_LOAD_PLUGINS": "0",
            "COLUMNS": "250",
            "PYTHONUNBUFFERED": "1",
            **env,
        }
    )
    with (log_dir / "out.txt").open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "eventkit", "serve", "--port", str(port), *args],
            cwd=log_dir,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    return proc, port


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.mark.parametrize("server_kind", ["granian", "uvicorn"])
def test_https_capture_with_the_client_and_segment_paths(
    database_url: str, tmp_path: Path, ca: tuple[Path, Path, Path], server_kind: str
) -> None:
    ca_pem, cert_pem, key_pem = ca
    proc, port = _serve(
        database_url,
        tmp_path / "srv",
        ["--tls-cert", str(cert_pem), "--tls-key", str(key_pem)],
        {"EVENTKIT_SERVER__SERVER": server_kind},
    )
    url = f"https://localhost:{port}"
    ctx = ssl.create_default_context(cafile=str(ca_pem))
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            assert proc.poll() is None, (tmp_path / "srv" / "out.txt").read_text()
            try:
                if httpx.get(f"{url}/readyz", verify=ctx, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "srv" / "out.txt").read_text()
            time.sleep(0.1)
        output = (tmp_path / "srv" / "out.txt").read_text()
        assert f"serving on https://localhost:{port}" in output
        write_key = next(k for k in _KEY.findall(output) if k.startswith("ek_write_"))
        # Plain HTTP on the TLS port is refused, not answered.
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
        with Client(url, write_key, verify=str(ca_pem), flush_interval=0.05) as ek:
            ek.track("tls_event", anonymous_id="tls-dev")
            assert ek.flush(30)
        body = {
            "batch": [{"type": "track", "event": "tls_segment", "anonymousId": "tls-dev"}],
            "writeKey": write_key,
        }
        r = httpx.post(f"{url}/segment/v1/b", json=body, verify=ctx)
        assert r.status_code == 200, r.text
    finally:
        _stop(proc)
    engine: Engine = make_engine(make_settings(database_url))
    try:
        assert sorted(e.name for e in stored(engine, anonymous_id="tls-dev")) == [
            "tls_event",
            "tls_segment",
        ]
    finally:
        engine.dispose()


def test_half_a_tls_configuration_is_refused(
    database_url: str, tmp_path: Path, ca: tuple[Path, Path, Path]
) -> None:
    _, cert_pem, _ = ca
    proc, _ = _serve(database_url, tmp_path / "srv", ["--tls-cert", str(cert_pem)], {})
    assert proc.wait(30) == 1
    out = (tmp_path / "srv" / "out.txt").read_text()
    assert "tls.key_file" in out and "--tls-key" in out
