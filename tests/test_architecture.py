"""The import graph of ``rl_planners/`` and ``envs/``: no cycle, no private name across modules.

Every ``import`` and ``from ... import`` statement of every module is read
from its syntax tree, those inside functions too (a lazy import that hides a
cycle is a cycle). ``from package import name`` is an edge to the module
``package.name`` if there is one, else to ``package`` (its ``__init__``).

Run as a script to print the graph, one module and what it imports per line::

    python tests/test_architecture.py
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rl_planners", "envs")


def module_files() -> dict[str, Path]:
    """``{dotted module name: file}`` for every module of the packages."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    """The absolute name a (possibly relative) ``from`` import names."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def import_graph() -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """The edges ``{module: {imported}}`` and the private imports ``(module, source, name)``."""
    files = module_files()
    graph: dict[str, set[str]] = {name: set() for name in files}
    private: list[tuple[str, str, str]] = []
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in files:
                        graph[module].add(alias.name)
            elif isinstance(node, ast.ImportFrom):
                source = _resolve(module, node, is_package)
                if source not in files:
                    continue
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    if submodule in files:
                        graph[module].add(submodule)
                        continue
                    graph[module].add(source)
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        private.append((module, source, alias.name))
        graph[module].discard(module)
    return graph, private


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a list of modules (first = last), or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


def test_the_scan_sees_the_package():
    graph, _ = import_graph()
    assert "rl_planners.agents.stationary" in graph
    assert "rl_planners.agents.base" in graph["rl_planners.agents.stationary"]


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle():
    graph, _ = import_graph()
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_private_name_is_imported_from_another_module():
    _, private = import_graph()
    assert private == [], "\n".join(f"{m} imports {n} from {s}" for m, s, n in private)


if __name__ == "__main__":
    graph, private = import_graph()
    for module in sorted(graph):
        print(f"{module}: {', '.join(sorted(graph[module])) or '-'}")
    cycle = find_cycle(graph)
    print(f"\n{len(graph)} modules, {sum(map(len, graph.values()))} edges")
    print("cycle: " + (" -> ".join(cycle) if cycle else "none"))
    print("private imports: " + ("; ".join(f"{m} <- {s}.{n}" for m, s, n in private) or "none"))
    sys.exit(1 if cycle or private else 0)
