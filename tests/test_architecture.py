"""Imports flow one way: no import cycle between modules, no private name crossing one.

The rules, checked on the source by reading it (``ast``), not by importing it:

- **Cycles.** An edge ``m → n`` is any import in module ``m`` of module ``n``
  of ``rl_planners/`` or ``envs/``, wherever it stands: at the top, inside a
  function (a lazy import hides a cycle from the interpreter, not from the
  design) or inside ``try``. Imports under ``if TYPE_CHECKING:`` do not
  count: they never run. ``from p import x`` is an edge to the submodule
  ``p.x`` if there is one, else to ``p`` (its ``__init__``); ``import p.q``
  an edge to ``p.q``. Importing ``p.q`` first runs the package ``p``, so it
  is also an edge to ``p``, unless ``p`` is a package of the importer (it is
  already running when the importer runs: that is how Python loads
  packages); importing a name from one's own package's ``__init__`` is an
  edge, and closes a cycle when that ``__init__`` imports the module back.
  Any strongly connected set of two or more modules is a cycle. The few
  known edges that close one are listed in :data:`SET_ASIDE`, each with why
  and what removes it; the check leaves them out, and fails on any other.
- **Private names.** No module imports a ``_name`` (dunders aside) from
  another module of the project, or reads ``module._name`` through a module
  it imported.

Run as a script, ``python tests/test_architecture.py`` prints the import
graph (module → the project modules it imports, ``*`` marking an import made
only inside functions), the counts of modules, edges, cycles and private
imports, the longest classes and the modules over 400 lines.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rl_planners", "envs")
MODULE_LINES = 400
"""The size a module should stay under (the project's style)."""

SET_ASIDE: dict[tuple[str, str], str] = {}
"""Known edges left out of the cycle check, each with why and what removes it.

``(package, target)`` sets aside the imports of ``target`` made inside
functions of ``package`` or its modules; an import at the top always counts.
"""


@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    relative: str
    """The path from the root scanned, for messages."""
    imports: dict[str, bool] = field(default_factory=dict)
    """Imported project module → whether every import of it is inside a function."""
    private: list[str] = field(default_factory=list)
    """``"line: what"`` for each private name taken from another module."""


def module_name(path: Path, root: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def find_modules(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, Module]:
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            name, is_package = module_name(path, root)
            modules[name] = Module(name, path, is_package, str(path.relative_to(root)))
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """Every import that can run, with whether it stands inside a function."""

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[ast.AST, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                yield child, in_function
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for other in child.orelse:  # only the `else:` of TYPE_CHECKING runs
                    yield from walk(ast.Module(body=[other], type_ignores=[]), in_function)
            else:
                inner = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                yield from walk(child, in_function or inner)

    yield from walk(tree, False)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _resolve(module: Module, node: ast.ImportFrom) -> str:
    """The absolute name ``from ... import`` reads from."""
    if not node.level:
        return node.module or ""
    base = module.name.split(".")
    if not module.is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _project_module(name: str, modules: dict[str, Module]) -> str | None:
    """``name`` or its longest prefix that is a project module."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def _packages_run_first(target: str, importer: str, modules: dict[str, Module]) -> list[str]:
    """``target`` and the packages above it that importing it runs, minus ``importer``'s own.

    ``import p.q.r`` runs ``p`` and ``p.q`` before ``p.q.r``; the packages
    above ``importer`` are already running when it imports anything.
    """
    parts = target.split(".")
    running = {".".join(importer.split(".")[:end]) for end in range(1, importer.count(".") + 2)}
    chain = [".".join(parts[:end]) for end in range(1, len(parts) + 1)]
    explicit = [] if target == importer else [target]
    return [name for name in chain[:-1] if name in modules and name not in running] + explicit


def scan(modules: dict[str, Module]) -> dict[str, Module]:
    """Fill ``imports`` and ``private`` of every module; return ``modules``."""
    for module in modules.values():
        tree = ast.parse(module.path.read_text(encoding="utf-8"), str(module.path))
        aliases: set[str] = set()  # local names bound to project modules
        for node, lazy in _imports(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                for alias in node.names:
                    target = _project_module(alias.name, modules)
                    if target is not None:
                        targets.append(target)
                        if alias.asname:
                            aliases.add(alias.asname)
                        if any(_private(part) for part in alias.name.split(".")):
                            module.private.append(f"{node.lineno}: import {alias.name}")
            else:
                source = _resolve(module, node)
                if source not in modules:
                    continue
                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    if submodule in modules:
                        targets.append(submodule)
                        aliases.add(alias.asname or alias.name)
                    else:
                        targets.append(source)
                    if _private(alias.name):
                        module.private.append(f"{node.lineno}: from {source} import {alias.name}")
            for target in targets:
                for runs in _packages_run_first(target, module.name, modules):
                    module.imports[runs] = module.imports.get(runs, True) and lazy
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and _private(node.attr)
            ):
                module.private.append(f"{node.lineno}: {node.value.id}.{node.attr}")
    return modules


def _set_aside(source: str, target: str, lazy: bool, set_aside: dict) -> bool:
    return lazy and any(
        target == aside and (source == package or source.startswith(package + "."))
        for package, aside in set_aside
    )


def import_graph(
    modules: dict[str, Module], set_aside: dict[tuple[str, str], str] | None = None
) -> dict[str, list[str]]:
    """Module → the project modules it imports, without the edges ``set_aside``."""
    set_aside = SET_ASIDE if set_aside is None else set_aside
    return {
        name: sorted(
            target
            for target, lazy in module.imports.items()
            if not _set_aside(name, target, lazy, set_aside)
        )
        for name, module in modules.items()
    }


def cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """One cycle ``[m, …, m]`` through each strongly connected set of two or more modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph[node]:
            if successor not in index:
                connect(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            connect(name)
    return [_cycle_through(component, graph) for component in components]


def _cycle_through(component: list[str], graph: dict[str, list[str]]) -> list[str]:
    """A shortest cycle from the first module of ``component`` back to it."""
    start, members = component[0], set(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for successor in graph[node]:
                if successor == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if successor in members and successor not in previous:
                    previous[successor] = node
                    following.append(successor)
        frontier = following
    return [*component, component[0]]


def classes(modules: dict[str, Module]) -> list[tuple[int, str, str]]:
    """``(lines, module.Class, path:line)`` of every class, longest first."""
    found = []
    for module in modules.values():
        tree = ast.parse(module.path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                lines = node.end_lineno - node.lineno + 1
                where = f"{module.relative}:{node.lineno}"
                found.append((lines, f"{module.name}.{node.name}", where))
    return sorted(found, key=lambda row: (-row[0], row[1]))


# ---------------------------------------------------------------------- tests
def test_no_import_cycle_between_modules():
    found = cycles(import_graph(scan(find_modules())))
    assert not found, "import cycles (lazy imports count):\n" + "\n".join(
        " → ".join(cycle) for cycle in found
    )


def test_no_private_name_crosses_a_module():
    modules = scan(find_modules())
    offences = [
        f"{module.relative}:{offence}" for module in modules.values() for offence in module.private
    ]
    assert not offences, "private names taken from another module:\n" + "\n".join(offences)


def test_the_scan_finds_lazy_cycles_and_private_names_and_skips_type_checking(tmp_path):
    # Two packages made to break every rule once, and to keep the exemptions.
    files = {
        "pkg/__init__.py": "from pkg.a import run\n",
        "pkg/a.py": "from pkg import b\n\ndef run():\n    return b.helper()\n",
        "pkg/b.py": (
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from pkg.d import Hint\n"
            "def helper():\n    from pkg.c import _secret\n    return _secret\n"
        ),
        "pkg/c.py": "def _secret():\n    from .a import run\n    return run\n",
        "pkg/d.py": "from pkg import b\n",
        "pkg/sub/__init__.py": "",
        "pkg/sub/e.py": "from .. import c\nimport pkg.d as d\n\nx = c._secret, d.__name__\n",
        "other/__init__.py": "",
        "other/x.py": "def f():\n    from pkg.d import b\n    return b\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    modules = scan(find_modules(tmp_path, ("pkg", "other")))
    assert modules["pkg.b"].imports == {"pkg.c": True}  # lazy; the TYPE_CHECKING one not
    assert modules["pkg.a"].imports == {"pkg.b": False}
    assert modules["pkg.sub.e"].imports == {"pkg.c": False, "pkg.d": False}
    # importing pkg.d from outside runs pkg (its __init__) first
    assert modules["other.x"].imports == {"pkg": True, "pkg.d": True}
    graph = import_graph(modules, set_aside={})
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c", "pkg.a"]]
    assert not cycles(import_graph(modules, set_aside={("pkg", "pkg.a"): "lazy in pkg.c"}))
    assert cycles(import_graph(modules, set_aside={("pkg", "pkg.b"): "not lazy in pkg.a"}))
    assert modules["pkg.b"].private == ["5: from pkg.c import _secret"]
    assert modules["pkg.sub.e"].private == ["4: c._secret"]
    assert not modules["pkg.d"].private


def test_every_edge_set_aside_is_still_there():
    # An entry whose imports are gone must go too, so that the cycle check is whole.
    modules = scan(find_modules())
    gone = [
        entry
        for entry in SET_ASIDE
        if not any(
            _set_aside(name, target, lazy, {entry: ""})
            for name, module in modules.items()
            for target, lazy in module.imports.items()
        )
    ]
    assert not gone, f"remove these entries of SET_ASIDE, their imports are gone: {gone}"


# --------------------------------------------------------------------- script
def main() -> None:
    modules = scan(find_modules())
    n_edges = sum(len(module.imports) for module in modules.values())
    print(
        f"Import graph of {', '.join(p + '/' for p in PACKAGES)}: module → project modules "
        "it imports, or whose package importing it runs (* only inside functions; "
        "`if TYPE_CHECKING:` not counted)\n"
    )
    for name in sorted(modules):
        targets = modules[name].imports
        listed = ", ".join(t + ("*" if targets[t] else "") for t in sorted(targets)) or "-"
        print(f"{name} → {listed}")
    found = cycles(import_graph(modules))
    offences = [offence for module in modules.values() for offence in module.private]
    n_lazy = sum(lazy for module in modules.values() for lazy in module.imports.values())
    print(
        f"\n{len(modules)} modules, {n_edges} edges ({n_lazy} lazy), {len(found)} cycles "
        f"({len(SET_ASIDE)} kind of lazy import set aside), "
        f"{len(offences)} private names across modules"
    )
    for cycle in found:
        print("  cycle: " + " → ".join(cycle))
    for (package, target), why in SET_ASIDE.items():
        print(f"  set aside: lazy imports of {target} in {package}: {why}")
    for cycle in cycles(import_graph(modules, set_aside={})):
        print("  cycle with nothing set aside: " + " → ".join(cycle))
    for module in modules.values():
        for offence in module.private:
            print(f"  private: {module.relative}:{offence}")
    print("\nLongest classes (lines):")
    for lines, name, where in classes(modules)[:10]:
        print(f"  {lines:4d}  {name}  ({where})")
    sizes = sorted(
        ((len(m.path.read_text(encoding="utf-8").splitlines()), m.name) for m in modules.values()),
        reverse=True,
    )
    print(f"\nModules over {MODULE_LINES} lines:")
    for lines, name in sizes:
        if lines > MODULE_LINES:
            print(f"  {lines:4d}  {name}")


if __name__ == "__main__":
    sys.exit(main())
