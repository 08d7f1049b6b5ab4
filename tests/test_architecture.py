"""The package rule of docs/architecture.md, checked on the source: shells -> services ->
storage, never back, and no import cycle between packages.

Every ``import`` counts, including those inside functions and ``TYPE_CHECKING``
blocks: a lazy import is still a dependency. A new package must be given its layer
here, which is where its place in the architecture is decided.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1] / "eventkit"

#: Each top-level module or package of eventkit and its layer. A module may import
#: eventkit modules of its own layer or below, never above.
LAYERS: dict[str, int] = {
    # 0: foundations
    "__init__": 0,
    "errors": 0,
    "config": 0,
    "config_sections": 0,
    "config_alerts": 0,
    "timeutil": 0,
    "logs": 0,
    "lifetime": 0,
    "reaper": 0,
    # 1: the event model, the plugin machinery, metrics, the standalone Python client
    "capture": 1,
    "plugins": 1,
    "metrics": 1,
    "client": 1,
    "webhooks": 1,
    # 2: storage
    "storage": 2,
    # 3: domain services (pure Python: no web, CLI or terminal framework)
    "ingest": 3,
    "sessions": 3,
    "flags": 3,
    "experiments": 3,
    "aggregation": 3,
    "reports": 3,
    "privacy": 3,
    "tracking": 3,
    "compat": 3,
    "demo": 3,
    "tokens": 3,
    "sql": 3,
    "cohorts": 3,
    "releases": 3,
    "alerts": 3,
    "scheduler": 3,
    "bootstrap": 3,
    "accounts": 3,
    # 4: shells
    "api": 4,
    "cli": 4,
    "tui": 4,
    "web": 4,
    # 5: the registry that attaches the shells and jobs to the services
    "builtins": 5,
    "__main__": 5,
}
SHELLS = 4
#: Third-party frameworks only shells may import.
FRAMEWORKS = ("litestar", "typer", "click", "textual", "rich", "jinja2", "granian", "uvicorn")


def _modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] == "storage" and "migrations" in rel.parts:
            continue  # Alembic revisions: data, not code that others import
        yield (rel.parts[0] if len(rel.parts) > 1 else rel.stem), path


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """Every absolute module name ``path`` imports (relative imports resolved)."""
    package = ["eventkit", *path.relative_to(ROOT).parts[:-1]]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                yield node.lineno, ".".join([*base, *([node.module] if node.module else [])])
            elif node.module:
                yield node.lineno, node.module


@cache
def _edges() -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> where."""
    edges: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for pkg, path in _modules():
        for line, name in _imports(path):
            parts = name.split(".")
            if parts[0] == "eventkit" and len(parts) > 1 and parts[1] != pkg:
                edges[pkg][parts[1]].append(f"{path.relative_to(ROOT.parent)}:{line}")
            elif parts[0] in FRAMEWORKS:
                edges[pkg][parts[0]].append(f"{path.relative_to(ROOT.parent)}:{line}")
    return edges


def test_every_package_has_a_layer() -> None:
    unknown = {pkg for pkg, _ in _modules()} - set(LAYERS)
    assert not unknown, f"give these packages a layer in tests/test_architecture.py: {unknown}"


def test_imports_only_point_down() -> None:
    bad = [
        f"{where}: {pkg} (layer {LAYERS[pkg]}) imports {dep} (layer {LAYERS[dep]})"
        for pkg, deps in _edges().items()
        for dep, places in deps.items()
        if dep in LAYERS and LAYERS[dep] > LAYERS[pkg]
        for where in places
    ]
    assert not bad, "\n".join(bad)


def test_below_the_shells_no_framework_is_imported() -> None:
    bad = [
        f"{where}: {pkg} imports {dep}"
        for pkg, deps in _edges().items()
        if LAYERS.get(pkg, SHELLS) < SHELLS
        for dep, places in deps.items()
        if dep in FRAMEWORKS
        for where in places
    ]
    assert not bad, "\n".join(bad)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph``, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycle_between_packages() -> None:
    graph = {pkg: {d for d in deps if d in LAYERS} for pkg, deps in _edges().items()}
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"c"}, "c": set()}, None),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}}, ["a", "b", "c", "a"]),
        ({"a": {"a"}}, ["a", "a"]),
    ],
)
def test_the_cycle_finder_finds_cycles(
    graph: dict[str, set[str]], expected: list[str] | None
) -> None:
    assert _cycle(graph) == expected
