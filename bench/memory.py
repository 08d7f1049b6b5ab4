"""Memory and CPU of a whole process tree (``eventkit serve`` and its children), from
/proc: PSS (proportional set size: pages shared between the processes count once in
the sum) beside RSS, and CPU time per process role.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "TreeSampler",
    "command_cpu",
    "machine_busy",
    "process_tree",
    "role_of",
    "tree_cpu",
    "tree_memory",
]

_TICK = os.sysconf("SC_CLK_TCK")


def _stats() -> Iterator[tuple[int, str]]:
    """(pid, /proc/pid/stat) of every process still there."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                yield int(entry), Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (by parent pid)."""
    children: dict[int, list[int]] = {}
    for pid, stat in _stats():
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def role_of(pid: int, root: int) -> str:
    """A short name for a process of the serve tree: server, worker, writer, ..."""
    if pid == root:
        return "main"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "gone"
    if "resource_tracker" in cmd:
        return "resource tracker"
    if "spawn_main" in cmd or "writerd" in cmd:
        return "writer"
    return "worker"


def _memory(pid: int) -> tuple[int, int]:
    """(PSS, RSS) in KiB, (0, 0) if the process is gone."""
    pss = rss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, value = line.partition(":")
            if key == "Pss":
                pss = int(value.split()[0])
            elif key == "Rss":
                rss = int(value.split()[0])
    except OSError:
        return 0, 0
    return pss, rss


def tree_memory(root: int) -> tuple[int, int]:
    """(PSS, RSS) of the whole tree in KiB."""
    pss = rss = 0
    for pid in process_tree(root):
        p, r = _memory(pid)
        pss += p
        rss += r
    return pss, rss


def machine_busy() -> float:
    """CPU seconds all processes of the machine have used so far (all cores)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


def command_cpu(comm: str) -> dict[int, float]:
    """CPU seconds of every process whose command name is ``comm`` (``postgres``: the
    database server's backends, on the same machine as the benchmark), by pid."""
    out: dict[int, float] = {}
    for pid, stat in _stats():
        if stat[stat.index("(") + 1 : stat.rindex(")")] == comm:
            fields = stat[stat.rindex(")") + 2 :].split()
            out[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    return out


def tree_cpu(root: int) -> dict[str, float]:
    """CPU seconds (user + system, all threads) per role of the tree."""
    out: dict[str, float] = {}
    for pid in process_tree(root):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        secs = (int(fields[11]) + int(fields[12])) / _TICK
        role = role_of(pid, root)
        out[role] = out.get(role, 0.0) + secs
    return out


@dataclass
class TreeSampler:
    """Samples the tree's PSS and RSS every ``interval`` seconds in a thread; keeps the
    peaks (and the per-process PSS at the PSS peak)."""

    root: int
    interval: float = 0.5
    peak_pss_kib: int = 0
    peak_rss_kib: int = 0
    at_peak: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _sample(self) -> None:
        per: dict[str, int] = {}
        pss_sum = rss_sum = 0
        for pid in process_tree(self.root):
            pss, rss = _memory(pid)
            pss_sum += pss
            rss_sum += rss
            role = role_of(pid, self.root)
            per[role] = per.get(role, 0) + pss
        self.peak_rss_kib = max(self.peak_rss_kib, rss_sum)
        if pss_sum > self.peak_pss_kib:
            self.peak_pss_kib = pss_sum
            self.at_peak = per

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def start(self) -> None:
        """Sample now and every ``interval`` seconds until ``stop``."""
        self._sample()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Take a last sample and stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
