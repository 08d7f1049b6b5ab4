"""``eventkit serve``: migrate, bootstrap, and run the capture API with its scheduler."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated, Any

import typer
from sqlalchemy.engine import Engine

from eventkit.bootstrap import ensure_default_app
from eventkit.cli.apps import print_new_keys
from eventkit.cli.context import state
from eventkit.cli.output import console
from eventkit.config import CONFIG_ENV, Settings
from eventkit.errors import ConfigError, MigrationError
from eventkit.ingest.writerd import WriterSupervisor
from eventkit.lifetime import GRACE_SECONDS, SERVE_PID_ENV, start_reaper
from eventkit.logs import configure_logging
from eventkit.storage.engine import make_engine
from eventkit.storage.migrate import status, upgrade

__all__ = ["run_asgi", "serve"]

FACTORY = "eventkit.api.app:create_app_from_env"

log = logging.getLogger("eventkit.server")


def prepare_database(settings: Settings) -> None:
    """Migrate (or check) the schema and create the default app on first start."""
    engine = make_engine(settings)
    try:
        if settings.auto_migrate:
            upgrade(engine)
        else:
            st = status(engine)
            if not st.up_to_date:
                raise MigrationError(
                    f"{len(st.pending)} migrations are pending and auto_migrate is off: "
                    "run `eventkit db upgrade`"
                )
        keys = ensure_default_app(engine, settings.default_app)
        if keys is not None:
            print_new_keys(keys, settings.url)
            now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
            body = (
                '{"events": [{"event_id": "' + str(uuid.uuid4()) + '", "name": "app_open", '
                f'"timestamp": "{now}", "anonymous_id": "device-1"}}]}}'
            )
            console.print(
                "  try it:\n"
                f"  curl -X POST {settings.url}/v1/events \\\n"
                f"    -H 'Authorization: Bearer {keys.write_key}' \\\n"
                f"    -H 'Content-Type: application/json' -d '{body}'\n",
                highlight=False,
                soft_wrap=True,
            )
        if settings.web.enabled:
            _dashboard_hint(engine, settings)
    finally:
        engine.dispose()


def _dashboard_hint(engine: Engine, settings: Settings) -> None:
    """Where the dashboard is, and (until there is one) how to create the first admin."""
    from eventkit.accounts.members import list_members

    url = f"{settings.url}{settings.web.base_path.rstrip('/')}/"
    if any(m.role == "admin" for m in list_members(engine)):
        console.print(f"  dashboard: {url}", highlight=False, soft_wrap=True)
        return
    console.print(
        f"  dashboard: {url}\n"
        "  create the first admin (prints a one-time sign-in link):\n"
        "  eventkit members add NAME --role admin\n",
        highlight=False,
        soft_wrap=True,
    )


def _check_port_free(host: str, port: int) -> None:
    """Fail fast when another server listens on the port: granian binds with
    SO_REUSEPORT and would otherwise share it silently with another server (two writers
    on one database).

    The probe sets SO_REUSEADDR (as every server does), so connections of a stopped
    server waiting in TIME-WAIT do not block a restart; a listening socket still does.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror}); another process uses it. "
                "Stop it or choose another port with --port or server.port"
            ) from None


def run_asgi(
    factory: str,
    *,
    server: str,
    host: str,
    port: int,
    workers: int,
    access_log: bool = False,
    tls_cert: str | None = None,
    tls_key: str | None = None,
) -> None:
    """Serve the app factory ``module:function`` with granian or uvicorn until stopped;
    over HTTPS when ``tls_cert`` and ``tls_key`` are given.

    The one place that decides the server options, so bench/ceiling_app.py measures
    its ceiling on exactly the stack ``eventkit serve`` runs.
    """
    if server == "granian":
        from granian.constants import Interfaces

        _granian_server()(
            factory,
            address=host,
            port=port,
            interface=Interfaces.ASGI,
            workers=workers,
            factory=True,
            log_enabled=access_log,
            log_access=access_log,
            backlog=2048,
            # A worker still draining this long after its SIGTERM is SIGKILLed (its
            # acknowledged events are already durable) rather than hanging the stop.
            workers_kill_timeout=int(GRACE_SECONDS) + 5,
            ssl_cert=Path(tls_cert) if tls_cert else None,
            ssl_key=Path(tls_key) if tls_key else None,
        ).serve()
    else:
        import uvicorn

        config = uvicorn.Config(
            factory,
            host=host,
            port=port,
            workers=workers,
            factory=True,
            access_log=access_log,
            log_config=None,
            lifespan="on",
            ssl_certfile=tls_cert,
            ssl_keyfile=tls_key,
        )
        _run_uvicorn(config)


def _granian_server() -> Any:
    """granian's server class, with SIGHUP stopping it like SIGINT and SIGTERM.

    granian reloads its workers on SIGHUP; a terminal that closes sends SIGHUP, and a
    server that survived it would hold the port with nobody reading its logs.
    """
    from granian.server import Server

    class EventkitGranian(Server):  # type: ignore[misc,valid-type]
        def signal_handler_reload(self, *args: Any, **kwargs: Any) -> None:
            log.info("SIGHUP: stopping (a terminal closed, or `kill -HUP`)")
            self.signal_handler_interrupt(*args, **kwargs)

    return EventkitGranian


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _run_uvicorn(config: Any) -> None:
    """``uvicorn.run`` with SIGHUP stopping the server like SIGINT and SIGTERM (uvicorn
    restarts its workers on SIGHUP, or dies of it with one process), and without
    re-raising the stop signal afterwards: ``eventkit serve`` still has to stop the
    writer process once the workers drained."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    class EventkitUvicorn(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self._stop) for sig in _STOP_SIGNALS}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        def _stop(self, sig: int, frame: FrameType | None) -> None:
            if sig == signal.SIGHUP:
                log.info("SIGHUP: stopping (a terminal closed, or `kill -HUP`)")
            self.handle_exit(sig, frame)

    class EventkitMultiprocess(Multiprocess):
        def handle_hup(self) -> None:
            log.info("SIGHUP: stopping (a terminal closed, or `kill -HUP`)")
            self.should_exit.set()

    if config.workers > 1:
        EventkitMultiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        server = EventkitUvicorn(config=config)
        server.run()
        if not server.started:
            raise SystemExit(3)  # as uvicorn.run: the app or the socket failed at start


def _run_server(settings: Settings) -> None:
    s = settings.server
    if s.server == "granian":
        _preload(FACTORY)
    run_asgi(
        FACTORY,
        server=s.server,
        host=s.host,
        port=s.port,
        workers=s.workers,
        access_log=settings.log.access_log,
        tls_cert=settings.tls.cert_file or None,
        tls_key=settings.tls.key_file or None,
    )


def _preload(factory: str) -> None:
    """Import the app's modules before granian forks its workers, and move every
    object made so far out of the garbage collector's reach (``gc.freeze``): the
    workers then share those pages with this process instead of each importing its
    own copy (the worker's PSS drops by what it shares)."""
    import gc
    import importlib

    importlib.import_module(factory.partition(":")[0])
    gc.collect()
    gc.freeze()


def _check_tls(settings: Settings) -> None:
    """Fail fast, with the fix, when only one TLS file is set or a file is unreadable."""
    tls = settings.tls
    if bool(tls.cert_file) != bool(tls.key_file):
        raise ConfigError(
            "TLS needs both tls.cert_file and tls.key_file (--tls-cert and --tls-key); "
            "set both or neither"
        )
    for what, path in (("tls.cert_file", tls.cert_file), ("tls.key_file", tls.key_file)):
        if path and not Path(path).is_file():
            raise ConfigError(f"{what} = {path!r}: no such file; give a PEM file path")


def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Bind address (server.host).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (server.port).")] = None,
    server: Annotated[
        str | None, typer.Option(help="ASGI server: granian or uvicorn (server.server).")
    ] = None,
    workers: Annotated[int | None, typer.Option(help="Processes (server.workers).")] = None,
    migrate: Annotated[
        bool, typer.Option("--migrate/--no-migrate", help="Apply pending migrations first.")
    ] = True,
    tls_cert: Annotated[
        Path | None, typer.Option(help="PEM certificate: serve HTTPS (tls.cert_file).")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(help="PEM private key of --tls-cert (tls.key_file).")
    ] = None,
) -> None:
    """Run the capture API and the scheduler on the configured database."""
    st = state(ctx)
    # Worker processes rebuild the settings from the environment: pass overrides there.
    overrides = {
        "SERVER__HOST": host,
        "SERVER__PORT": port,
        "SERVER__SERVER": server,
        "SERVER__WORKERS": workers,
        "TLS__CERT_FILE": tls_cert.resolve() if tls_cert else None,
        "TLS__KEY_FILE": tls_key.resolve() if tls_key else None,
    }
    if not migrate:
        overrides["AUTO_MIGRATE"] = "false"
    for key, value in overrides.items():
        if value is not None:
            os.environ[f"EVENTKIT_{key}"] = str(value)
    if st.config_path is not None:
        os.environ[CONFIG_ENV] = str(st.config_path.resolve())
    # The HTTP workers end with this process however it ends (eventkit.lifetime).
    os.environ[SERVE_PID_ENV] = str(os.getpid())
    st._settings = None
    settings = st.settings
    configure_logging(settings.log)
    _check_tls(settings)
    _check_port_free(settings.server.host, settings.server.port)
    prepare_database(settings)
    # The last resort for a child stuck in its drain after this process died.
    start_reaper()
    supervisor = WriterSupervisor() if settings.ingest.writer == "process" else None
    console.print(
        f"[bold]eventkit[/bold] serving on {settings.url} "
        f"({settings.server.server}, database {settings.database_url.split('@')[-1]})"
    )
    if supervisor is not None:
        supervisor.start()
    try:
        _run_server(settings)
    finally:
        # The workers have drained (their requests are answered); the writer goes last.
        if supervisor is not None:
            supervisor.stop()
