"""A paths report as a Rich tree: each node with its sessions, share and drop-off.
Shown by the dashboard's Paths tab and by ``eventkit report paths``."""

from __future__ import annotations

from typing import Any

from rich.tree import Tree

from eventkit.reports import Report

__all__ = ["paths_tree"]


def paths_tree(report: Report) -> Tree:
    """The tree of ``report`` (rows are its nodes, depth first)."""
    meta = report.meta
    before = bool(meta.get("before"))
    anchor = meta.get("after") or meta.get("before")
    where = (
        f"after {anchor}" if meta.get("after") else f"before {anchor}" if anchor else "from start"
    )
    tree = Tree(f"[bold]{meta['sessions']:,} sessions[/bold] — paths by {meta['by']}, {where}")
    parents: dict[int, Any] = {0: tree}
    end = " ← (start)" if before else " → (end)"
    for row in report.rows:
        depth = abs(int(row["step"])) + (1 if before else 0)
        parent = parents.get(depth - 1, tree)
        dropped = f"[dim]{end} {row['ended']:,}[/dim]" if row["ended"] else ""
        label = f"{row['node']}  [cyan]{row['sessions']:,}[/cyan] ({row['pct']}%){dropped}"
        parents[depth] = parent.add(label)
    return tree
