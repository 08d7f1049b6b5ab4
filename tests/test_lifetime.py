"""eventkit.lifetime with real processes: a parent starts a child that calls
``end_with_parent``; the test kills the parent with SIGKILL and watches the child."""

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
while True:
    time.sleep(1)
"""

PARENT = r"""
import os, subprocess, sys, time
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
    """The parent, its child (armed unless ``late``) and the child's marker file."""
    marker = tmp_path / "marker"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, CHILD, mode, str(marker)],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert parent.stdout is not None
    with parent.stdout:
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
