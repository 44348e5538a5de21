"""No import cycles between the project's own modules.

Every module of the ``adjudicator`` and ``evidence`` packages is parsed with ``ast`` and every
import statement in it counts, wherever it stands: at module level, inside a function, or
under ``if TYPE_CHECKING:``. An import hidden in a function still ties the two modules
together (each needs the other to work), so it is a cycle all the same.
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("adjudicator", "evidence")


@dataclass(frozen=True)
class Import:
    """One import of a project module by another: where it is written."""

    target: str
    path: Path
    line: int

    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def module_files() -> dict[str, Path]:
    """Every module of the packages, by dotted name (a package by its ``__init__``)."""
    found: dict[str, Path] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module a ``from … import`` names, its leading dots resolved."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _own(name: str, modules: Mapping[str, Path]) -> str | None:
    """The project module an imported dotted name is (or lies in), or None if it is not ours."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


def imports_in(
    source: str | bytes, module: str, path: Path, modules: Mapping[str, Path]
) -> Iterator[Import]:
    """The project modules one module's source imports, from every import statement in it."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            source_module = _absolute(node, module, is_package)
            # `from package import name` imports the submodule when there is one, otherwise
            # it takes a name from the package itself
            targets = [
                f"{source_module}.{alias.name}"
                if f"{source_module}.{alias.name}" in modules
                else source_module
                for alias in node.names
            ]
        else:
            continue
        for target in targets:
            own = _own(target, modules)
            if own is not None and own != module:
                yield Import(own, path, node.lineno)


def import_graph() -> dict[str, dict[str, Import]]:
    """Module -> imported project module -> the first place it is imported."""
    modules = module_files()
    graph: dict[str, dict[str, Import]] = {}
    for module in modules:
        edges: dict[str, Import] = {}
        path = modules[module]
        for found in imports_in(path.read_bytes(), module, path, modules):
            edges.setdefault(found.target, found)
        graph[module] = edges
    return graph


def cycles(graph: Mapping[str, Mapping[str, Import]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            group: set[str] = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(group, graph) for group in groups]


def _cycle_in(group: set[str], graph: Mapping[str, Mapping[str, Import]]) -> list[str]:
    """A shortest cycle through the group's first module, staying inside the group."""
    start = min(group)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for node in frontier:
            for succ in sorted(graph[node]):
                if succ == start:
                    return [*paths[node], start]
                if succ in group and succ not in paths:
                    paths[succ] = [*paths[node], succ]
                    following.append(succ)
        frontier = following
    raise AssertionError(f"no cycle through {start} in {sorted(group)}")


def describe(cycle: list[str], graph: Mapping[str, Mapping[str, Import]]) -> str:
    steps = [
        f"  {here} -> {there}  ({graph[here][there].where()})"
        for here, there in itertools.pairwise(cycle)
    ]
    return " -> ".join(cycle) + "\n" + "\n".join(steps)


def test_the_packages_have_no_import_cycle() -> None:
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles:\n" + "\n".join(describe(c, graph) for c in found)


def test_every_kind_of_import_is_seen() -> None:
    """The checker itself: function-level, TYPE_CHECKING and relative imports all count."""
    root = REPO / "pkg"
    modules = {
        "pkg": root / "__init__.py",
        "pkg.a": root / "a.py",
        "pkg.b": root / "b.py",
        "pkg.c": root / "c.py",
    }
    sources = {
        "pkg": "from pkg.a import thing\n",
        "pkg.a": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.b import B\n",
        "pkg.b": "import os\ndef f():\n    from . import c\n",
        "pkg.c": "import pkg.a.thing\nfrom pkg import other\nfrom .c import itself\n",
    }
    graph = {
        module: {
            found.target: found for found in imports_in(text, module, modules[module], modules)
        }
        for module, text in sources.items()
    }
    assert {module: set(edges) for module, edges in graph.items()} == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.b"},
        "pkg.b": {"pkg.c"},
        "pkg.c": {"pkg.a", "pkg"},
    }
    assert graph["pkg.b"]["pkg.c"].where() == "pkg/b.py:3"
    assert cycles(graph) == [["pkg", "pkg.a", "pkg.b", "pkg.c", "pkg"]]


def test_every_module_is_seen() -> None:
    """The graph covers both packages, subpackages included (an empty graph has no cycle)."""
    graph = import_graph()
    for module in ("adjudicator", "adjudicator.replay", "adjudicator.migrations", "evidence.store"):
        assert module in graph
    assert "adjudicator.migrations" in graph["adjudicator.cli"]
