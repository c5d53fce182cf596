"""The import graph of `src/langganan` (issue 13, "Tangles"): packages depend downwards,

    kit → catalog/accounts → invoices → wallets → subscriptions → payments → usage/lifecycle/purchases → web/API/CLI,

so no two packages import each other, directly or round a longer circle, except the circles written in
ALLOWED below, and `kit` imports nothing of langganan but `kit`. An import counts wherever it is written,
at the top of a module or inside a function; one under `if TYPE_CHECKING:` does not (it runs for the type
checker only). A package is the first name under `langganan` (`langganan.wallets.service` is `wallets`);
a top-level module (`app`, `cli`, `config`, `due`, ...) is a package of its own.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
ROOT = "langganan"

# The package imports that still close a circle: (importer, imported), each the edge of its circle that points
# upwards in the layering above. The list may only shrink: an entry no longer needed fails the test below
# until it is deleted, and a circle not broken by one of these fails with the circle printed.
ALLOWED: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    imported: str  # dotted module name (or the package a name was taken from)
    line: int

    def __str__(self) -> str:
        return f"{self.importer}:{self.line} imports {self.imported}"


def module_name(path: Path, src: Path = SRC) -> str:
    parts = path.relative_to(src).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str, src: Path = SRC) -> bool:
    base = src.joinpath(*name.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _type_checking_only(tree: ast.AST) -> set[int]:
    """The ids of the nodes under `if TYPE_CHECKING:` (not its `else:`)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                    isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"):
                skipped |= {id(inner) for statement in node.body for inner in ast.walk(statement)}
    return skipped


def imports_of(module: str, source: str, *, is_package: bool = False, src: Path = SRC) -> list[Import]:
    """Every langganan import in a module's source, at any depth, but those for the type checker only."""
    tree = ast.parse(source)
    skipped = _type_checking_only(tree)
    found: list[Import] = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno) for alias in node.names
                      if alias.name == ROOT or alias.name.startswith(ROOT + ".")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package upwards
                anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            if base != ROOT and not base.startswith(ROOT + "."):
                continue
            for alias in node.names:
                name = f"{base}.{alias.name}"
                found.append(Import(module, name if is_module(name, src) else base, node.lineno))
    return list(dict.fromkeys(found))  # (`from x import a, b` is one import of x)


def package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def all_imports(src: Path = SRC) -> list[Import]:
    found: list[Import] = []
    for path in sorted((src / ROOT).rglob("*.py")):
        found += imports_of(module_name(path, src), path.read_text(encoding="utf-8"),
                            is_package=path.name == "__init__.py", src=src)
    return found


def package_edges(imports: list[Import]) -> dict[tuple[str, str], list[Import]]:
    edges: dict[tuple[str, str], list[Import]] = defaultdict(list)
    for imp in imports:
        a, b = package_of(imp.importer), package_of(imp.imported)
        if a != b:
            edges[a, b].append(imp)
    return edges


def find_cycle(edges: set[tuple[str, str]]) -> list[str] | None:
    """One circle of the graph as its packages in order (the first repeated at the end), or None."""
    graph: dict[str, list[str]] = defaultdict(list)
    for a, b in sorted(edges):
        graph[a].append(b)
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (cycle := visit(nxt)) is not None:
                return cycle
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)) is not None:
            return cycle
    return None


def on_a_cycle(edge: tuple[str, str], edges: set[tuple[str, str]]) -> bool:
    """Whether the edge a → b closes a circle: b reaches a."""
    a, b = edge
    seen, todo = {b}, [b]
    while todo:
        node = todo.pop()
        if node == a:
            return True
        for x, y in edges:
            if x == node and y not in seen:
                seen.add(y)
                todo.append(y)
    return False


def describe(cycle: list[str], edges: dict[tuple[str, str], list[Import]]) -> str:
    lines = [" → ".join(cycle)]
    for a, b in pairwise(cycle):
        lines.append(f"  {a} → {b}:")
        lines += [f"    {imp}" for imp in edges[a, b]]
    return "\n".join(lines)


# -- the checks themselves, on synthetic input: they can fail --

def test_imports_count_inside_functions_but_not_for_the_type_checker() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "import langganan.kit.db\n"
        "from langganan.wallets import service\n"
        "from langganan.config import Settings\n"
        "if TYPE_CHECKING:\n"
        "    from langganan.payments.gateway import Gateway\n"
        "else:\n"
        "    from langganan.catalog import rules\n"
        "def f() -> None:\n"
        "    from langganan.usage.service import ingest\n"
        "from . import money\n"
    )
    found = {imp.imported for imp in imports_of("langganan.kit.web", source)}
    assert found == {"langganan.kit.db", "langganan.wallets.service", "langganan.config", "langganan.catalog.rules",
                     "langganan.usage.service", "langganan.kit.money"}


def test_a_circle_is_found_and_an_allowed_edge_breaks_it() -> None:
    edges = {("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}
    assert find_cycle(edges) == ["a", "b", "c", "a"]
    assert find_cycle(edges - {("c", "a")}) is None
    assert on_a_cycle(("c", "a"), edges) and not on_a_cycle(("c", "d"), edges)


# -- the source tree --

@pytest.fixture(scope="module")
def edges() -> dict[tuple[str, str], list[Import]]:
    return package_edges(all_imports())


def test_kit_imports_only_kit() -> None:
    outside = [imp for imp in all_imports() if package_of(imp.importer) == "kit"
               and package_of(imp.imported) != "kit"]
    assert not outside, "kit is the domain-free base; it imports:\n" + "\n".join(map(str, outside))


def test_no_import_circle_between_packages_but_the_allowed(edges: dict[tuple[str, str], list[Import]]) -> None:
    cycle = find_cycle(set(edges) - ALLOWED)
    assert cycle is None, "an import circle between packages:\n" + describe(cycle, edges)


def test_every_allowed_circle_still_exists(edges: dict[tuple[str, str], list[Import]]) -> None:
    stale = sorted(edge for edge in ALLOWED if edge not in edges or not on_a_cycle(edge, set(edges)))
    assert not stale, f"no longer a circle, delete from ALLOWED: {stale}"
