"""Child processes end with the process that started them, however it ends.

``eventkit serve`` starts HTTP workers (granian or uvicorn), the writer process and,
in each worker, the sessions job's child. If the main process is killed (SIGKILL, the
OOM killer, a crash), nothing would stop them: an orphaned HTTP worker keeps the port,
keeps answering 200 and spools events that nothing replays. Each child therefore calls
:func:`end_with_parent` as soon as it starts:

1. Linux's parent-death signal (``prctl(PR_SET_PDEATHSIG)``): the kernel sends the
   child ``SIGTERM`` the moment its parent ends, and the child drains and exits as on
   any ``SIGTERM``. The kernel ties it to the *thread* that started the child; every
   thread that starts one of eventkit's children lives until the server stops.
2. A re-check of ``getppid()`` right after, which closes the race of a parent that
   ended between the fork and the ``prctl`` (the kernel would never signal then).
3. A watchdog thread that waits for the parent's exit (a pidfd, else a 0.5 s poll of
   ``getppid()``): it sends the signal where there is no parent-death signal, marks
   the process :func:`orphaned` (``/readyz`` says so), and ends the process with exit
   code 70 if the drain has not finished ``grace`` seconds later.
4. The reaper (:mod:`eventkit.reaper`, started by :func:`start_reaper`): a small
   process of its own that SIGKILLs a registered child still running 2 s after that
   (a thread needs the GIL, and native code can hold it forever: granian's SIGTERM
   handler was seen deadlocked so; the reaper needs nothing from the stuck process).

Nothing acknowledged is lost by that last resort: a request is answered 2xx only after
its events were committed or fsynced to the spool, and the next start replays spools
left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from eventkit.reaper import proc_start_time

__all__ = [
    "GRACE_SECONDS",
    "REAPER_DIR_ENV",
    "REAPER_EXTRA_SECONDS",
    "SERVE_PID_ENV",
    "end_with_parent",
    "orphaned",
    "start_reaper",
]

log = logging.getLogger("eventkit.lifetime")

#: Set by ``eventkit serve`` for its HTTP workers: the pid of the main process.
SERVE_PID_ENV = "EVENTKIT_SERVE_PID"
#: How long an orphaned process may take to drain before it is ended.
GRACE_SECONDS = 10.0
#: Exit code of a process ended by the watchdog (EX_SOFTWARE).
EXIT_ORPHANED = 70
#: Set by ``eventkit serve``: the directory where its children register with the reaper.
REAPER_DIR_ENV = "EVENTKIT_REAPER_DIR"
#: How much longer than a child's own grace the reaper waits before its SIGKILL.
REAPER_EXTRA_SECONDS = 2.0

_PR_SET_PDEATHSIG = 1
_orphaned = threading.Event()


def orphaned() -> bool:
    """True once the parent this process watches has ended (this process is stopping)."""
    return _orphaned.is_set()


def _set_death_signal(signum: int) -> bool:
    """Ask the kernel to send ``signum`` when the parent ends; False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def _wait_for_exit(parent_pid: int) -> None:
    """Return when ``parent_pid`` (this process's parent) has ended."""
    fd = None
    with contextlib.suppress(AttributeError, OSError):
        fd = os.pidfd_open(parent_pid)
    if fd is None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        return
    try:
        # Our parent still being ``parent_pid`` after the open proves the descriptor
        # is our parent's and not a process that reused a dead parent's pid.
        if os.getppid() == parent_pid:
            select.select([fd], [], [])  # readable once the process exited
    finally:
        os.close(fd)


def _watch(parent_pid: int, signum: int, signalled: bool, grace: float) -> None:
    _wait_for_exit(parent_pid)
    _orphaned.set()
    log.warning("the main process %d ended; process %d drains and stops", parent_pid, os.getpid())
    if not signalled:
        os.kill(os.getpid(), signum)
    time.sleep(grace)
    log.error("process %d still running %g s after its parent ended; exiting", os.getpid(), grace)
    logging.shutdown()
    os._exit(EXIT_ORPHANED)


def start_reaper(extra: float = REAPER_EXTRA_SECONDS) -> Path | None:
    """In the main process: start the reaper (:mod:`eventkit.reaper`) and tell the
    children where to register (``$EVENTKIT_REAPER_DIR``). It SIGKILLs a registered
    child still running ``extra`` seconds after the child's own grace. Returns the
    registry, or None where there is no ``/proc`` to tell a process by its start time."""
    if not Path("/proc/self/stat").exists():
        return None
    registry = Path(tempfile.mkdtemp(prefix="eventkit-reaper-"))
    script = Path(__file__).with_name("reaper.py")
    subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-I", "-S", str(script), str(os.getpid()), str(registry), f"{extra:g}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        close_fds=True,
    )
    os.environ[REAPER_DIR_ENV] = str(registry)
    return registry


def _register(grace: float) -> None:
    """Register this process (its start time and grace) with the reaper of ``eventkit
    serve``, if there is one."""
    registry = os.environ.get(REAPER_DIR_ENV)
    if not registry:
        return
    try:
        start = proc_start_time(os.getpid())
        entry = Path(registry) / str(os.getpid())
        tmp = entry.with_suffix(".tmp")
        tmp.write_text(f"{start} {grace:g}")
        tmp.replace(entry)
    except OSError as e:
        log.warning("cannot register process %d with the reaper: %s", os.getpid(), e)


def end_with_parent(
    parent_pid: int, *, signum: int = signal.SIGTERM, grace: float = GRACE_SECONDS
) -> None:
    """Make this process receive ``signum`` when ``parent_pid`` ends, and end it
    ``grace`` seconds later if it is still running (the reaper, where ``eventkit
    serve`` started one, SIGKILLs it shortly after that if even this cannot run).

    Call it in the child right after it starts, with the pid the parent had when it
    started the child (``os.getppid()`` may already be someone else's).
    """
    _register(grace)
    armed = _set_death_signal(signum)
    if os.getppid() != parent_pid:
        # The parent ended before the prctl: the kernel will not signal us.
        armed = False
    threading.Thread(
        target=_watch,
        args=(parent_pid, signum, armed, grace),
        name="eventkit-parent-watch",
        daemon=True,
    ).start()
