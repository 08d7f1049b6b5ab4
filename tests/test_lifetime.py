"""eventkit.lifetime with real processes: a parent starts a child that calls
``end_with_parent``; the test kills the parent with SIGKILL and watches the child.
And the reaper (eventkit.reaper), for a child that holds the GIL forever."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eventkit import lifetime
from tests.e2e.procs import Proc, tree, wait_gone

CHILD = r"""
import os, signal, sys, time
from eventkit import lifetime

parent, mode, marker = int(sys.argv[1]), sys.argv[2], sys.argv[3]
if mode == "late":
    while os.getppid() == parent:  # the parent ends before this child arms
        time.sleep(0.01)
if mode == "no-prctl":
    lifetime._set_death_signal = lambda signum: False  # as on a system without it
if mode == "prctl":
    lifetime._wait_for_exit = lambda pid: time.sleep(3600)  # the kernel's signal only

def drained(signum, frame):
    with open(marker + ".tmp", "w") as f:
        f.write("orphaned" if lifetime.orphaned() else "signalled")
    os.replace(marker + ".tmp", marker)
    os._exit(0)

if mode == "stuck":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
else:
    signal.signal(signal.SIGTERM, drained)
lifetime.end_with_parent(parent, grace=0.5)
open(marker + ".armed", "w").close()
if mode == "wedged":
    # As granian's SIGTERM handler deadlocked: native code that waits forever while it
    # holds the GIL (a PyDLL call keeps it), so no Python thread here can run again.
    import ctypes
    mutex = ctypes.create_string_buffer(64)  # zeroed: a default pthread mutex
    libc = ctypes.PyDLL(None)
    libc.pthread_mutex_lock(mutex)
    libc.pthread_mutex_lock(mutex)
while True:
    time.sleep(1)
"""

PARENT = r"""
import os, subprocess, sys, time
if sys.argv[2] == "wedged":
    from eventkit import lifetime
    print(lifetime.start_reaper(extra=0.5), flush=True)
child = subprocess.Popen(
    [sys.executable, "-c", sys.argv[1], str(os.getpid()), *sys.argv[2:]],
    stderr=open(sys.argv[3] + ".stderr", "w"),
)
print(child.pid, flush=True)
if sys.argv[2] == "late":
    os._exit(0)
time.sleep(120)
"""


def start(tmp_path: Path, mode: str) -> tuple[subprocess.Popen[str], Proc, Path]:
    """The parent, its child (armed unless ``late``) and the child's marker file (and,
    for ``wedged``, the reaper's registry in ``<marker>.registry``)."""
    marker = tmp_path / "marker"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD, mode, str(marker)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert parent.stdout is not None
    with parent.stdout:
        if mode == "wedged":
            Path(f"{marker}.registry").write_text(parent.stdout.readline().strip())
        pid = int(parent.stdout.readline())
    child = next((p for p in tree(parent.pid) if p.pid == pid), None)
    assert child is not None or mode == "late"
    deadline = time.monotonic() + 30
    while not Path(f"{marker}.armed").exists() and mode != "late":
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.02)
    return parent, child or Proc(pid, 0, 0, ""), marker


@pytest.mark.parametrize("mode", ["prctl", "no-prctl"])
def test_a_child_gets_sigterm_when_its_parent_is_killed(tmp_path: Path, mode: str) -> None:
    parent, child, marker = start(tmp_path, mode)
    parent.kill()
    parent.wait(10)
    seconds = wait_gone([child], timeout=5)
    # Each mechanism alone ends the child: the kernel's parent-death signal, and
    # (where there is none) the watchdog that waits on a pidfd and signals.
    assert marker.read_text() == ("signalled" if mode == "prctl" else "orphaned")
    assert seconds < 5


def test_a_parent_that_ended_before_the_child_armed_is_noticed(tmp_path: Path) -> None:
    parent, _, marker = start(tmp_path, "late")
    parent.wait(10)
    deadline = time.monotonic() + 10
    while not marker.exists():
        assert time.monotonic() < deadline, Path(f"{marker}.stderr").read_text()
        time.sleep(0.02)
    assert marker.read_text() == "orphaned"


def test_a_child_that_does_not_drain_is_ended_after_the_grace(tmp_path: Path) -> None:
    parent, child, marker = start(tmp_path, "stuck")
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)
    wait_gone([child], timeout=10)
    assert not marker.exists()
    log = Path(f"{marker}.stderr").read_text()
    assert "still running 0.5 s after its parent ended; exiting" in log


def test_a_process_whose_parent_lives_is_not_orphaned() -> None:
    assert lifetime.orphaned() is False


def test_a_child_that_holds_the_gil_forever_is_killed_by_the_reaper(tmp_path: Path) -> None:
    parent, child, marker = start(tmp_path, "wedged")
    registry = Path(Path(f"{marker}.registry").read_text())
    assert (registry / str(child.pid)).read_text() == f"{child.start} 0.5"
    reaper = next(p for p in tree(parent.pid) if "reaper.py" in p.cmdline)
    time.sleep(0.5)  # the child is in its deadlock now
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)
    # Neither the SIGTERM handler nor the watchdog thread can run without the GIL:
    # only the reaper ends it, 0.5 s grace + 0.5 s extra after the parent died.
    seconds = wait_gone([child, reaper], timeout=10)
    assert 0.9 < seconds < 10
    log = Path(f"{marker}.stderr").read_text()
    assert "exiting" not in log  # the watchdog never got to run
    assert not registry.exists()


def test_the_reaper_leaves_a_reused_pid_alone(tmp_path: Path) -> None:
    from eventkit import reaper

    me = reaper.proc_start_time(os.getpid())
    assert me is not None
    (tmp_path / str(os.getpid())).write_text(f"{me + 1} 10")  # another process's start
    (tmp_path / "123456789").write_text("1 10")  # no such process
    assert reaper.registered(tmp_path) == {}
    (tmp_path / str(os.getpid())).write_text(f"{me} 10")
    assert reaper.registered(tmp_path) == {os.getpid(): 10.0}


def test_the_reaper_leaves_at_once_when_nothing_is_left(tmp_path: Path) -> None:
    from eventkit import reaper

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # a main process that stopped normally, its children already gone

    registry = tmp_path / "registry"
    registry.mkdir()
    started = time.monotonic()
    assert reaper.run(gone.pid, registry, extra=5) == []
    assert time.monotonic() - started < 2
    assert not registry.exists()
