"""The process tree of a server, read from /proc by pid (a pid is identified with its
start time, so a reused pid is never mistaken for a survivor)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Proc", "alive", "tree", "wait_gone"]


@dataclass(frozen=True)
class Proc:
    """One process: pid, parent, start time (clock ticks since boot) and command line."""

    pid: int
    ppid: int
    start: int
    cmdline: str


def _read(pid: int) -> Proc | None:
    """The process ``pid`` unless it is gone or a zombie (it has exited then)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    text = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
    return Proc(pid=pid, ppid=int(fields[1]), start=int(fields[19]), cmdline=text)


def tree(root: int) -> list[Proc]:
    """``root`` and all its descendants that are running now."""
    children: dict[int, list[Proc]] = {}
    by_pid: dict[int, Proc] = {}
    for d in Path("/proc").iterdir():
        p = _read(int(d.name)) if d.name.isdigit() else None
        if p is not None:
            children.setdefault(p.ppid, []).append(p)
            by_pid[p.pid] = p
    out: list[Proc] = []
    todo = [by_pid[root]] if root in by_pid else []
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p.pid, []))
    return out


def alive(procs: list[Proc]) -> list[Proc]:
    """The processes of ``procs`` still running (same pid and start time)."""
    out = []
    for p in procs:
        now = _read(p.pid)
        if now is not None and now.start == p.start:
            out.append(now)
    return out


def wait_gone(procs: list[Proc], timeout: float) -> float:
    """Seconds until none of ``procs`` runs; fails with the survivors after ``timeout``."""
    started = time.monotonic()
    while left := alive(procs):
        if time.monotonic() - started > timeout:
            raise AssertionError(
                f"{len(left)} processes still running {timeout} s later: "
                + "; ".join(f"{p.pid} (parent {p.ppid}) {p.cmdline}" for p in left)
            )
        time.sleep(0.05)
    return time.monotonic() - started
