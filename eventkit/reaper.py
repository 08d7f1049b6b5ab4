"""The last resort of ``eventkit serve``'s supervision: a tiny process that outlives the
main process and SIGKILLs what is still running ``grace`` seconds after it ended.

Why a process, when every child already has a watchdog thread (eventkit.lifetime)?
A thread needs the GIL to act, and native code can hold the GIL forever: an HTTP
worker of granian 2.8.9 was seen (3 of 32 SIGKILL tests on a 2-core machine) deadlocked in
granian's own SIGTERM handler, ``WorkerSignal.set()`` waiting on a Rust thread that
waits for the GIL the handler holds. Neither the drain nor the watchdog thread could
run again, and the orphan held the port until someone killed it. Only the kernel or
another process can end such a process; this one needs no GIL of theirs.

It runs as ``python -I -S eventkit/reaper.py MAIN_PID REGISTRY EXTRA`` (a few
standard-library modules, no site-packages: about 10 MiB RSS, 5 MiB PSS). Each child
registers in ``REGISTRY`` as a file named by its pid that holds its start time and
its own grace period (``eventkit.lifetime``), so a pid reused by an unrelated process
is never signalled.
When the main process ends, the reaper gives each registered process its grace plus
``EXTRA`` seconds to drain and exit, SIGKILLs the ones still running, removes the
registry and exits. After a normal stop everything has already exited and it leaves
at once.

Nothing acknowledged is lost by a SIGKILL: an event is acknowledged only after it was
committed or fsynced to the spool, and the next start replays spools left behind.
"""

from __future__ import annotations

# Only modules the interpreter loads anyway, or nearly: this process is in every
# server's tree (pathlib and shutil alone would add 1.5 MiB PSS).
import os
import select
import signal
import sys
import time

__all__ = ["proc_start_time", "registered", "run"]


def proc_start_time(pid: int) -> int | None:
    """The start time of ``pid`` (clock ticks since boot), None if gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def registered(registry: str | os.PathLike[str]) -> dict[int, float]:
    """The registered processes still running (same pid and start time): their grace."""
    alive: dict[int, float] = {}
    try:
        names = os.listdir(registry)
    except FileNotFoundError:
        return alive
    for name in names:
        try:
            with open(os.path.join(registry, name)) as f:
                start, grace = f.read().split()
            pid = int(name)
            if proc_start_time(pid) == int(start):
                alive[pid] = float(grace)
        except (ValueError, OSError):
            continue
    return alive


def _wait_for_exit(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        while proc_start_time(pid) is not None:
            time.sleep(0.2)
        return
    try:
        select.select([fd], [], [])
    finally:
        os.close(fd)


def _say(message: str) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    try:  # noqa: SIM105 - contextlib is one more module to load
        os.write(2, f"{stamp},000 ERROR   eventkit.reaper: {message}\n".encode())
    except OSError:
        pass


def _remove(registry: str | os.PathLike[str]) -> None:
    try:
        for name in os.listdir(registry):
            os.unlink(os.path.join(registry, name))
        os.rmdir(registry)
    except OSError:
        pass


def run(main_pid: int, registry: str | os.PathLike[str], extra: float) -> list[int]:
    """Wait for ``main_pid`` to end, then for the registered processes; SIGKILL each
    one still running ``extra`` seconds after its own grace. Returns the pids killed."""
    _wait_for_exit(main_pid)
    ended = time.monotonic()
    killed: list[int] = []
    while left := registered(registry):
        now = time.monotonic()
        for pid, grace in left.items():
            if pid in killed or now - ended < grace + extra:
                continue
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
            killed.append(pid)
            _say(
                f"process {pid} still running {now - ended:.1f} s after the main "
                f"process {main_pid} ended (stuck in its drain); killed"
            )
        time.sleep(0.1)
    _remove(registry)
    return killed


def main(argv: list[str]) -> None:
    # Ctrl-C and a closed terminal signal the whole foreground group: the main process
    # handles them, and the reaper must outlive it to do its job.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    run(int(argv[1]), argv[2], float(argv[3]))


if __name__ == "__main__":
    main(sys.argv)
