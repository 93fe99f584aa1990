"""The package's import graph, read from the source with ``ast`` (used by the import-graph and layer tests).

An edge ``A -> B`` is any ``import`` or ``from ... import`` statement in ``A`` naming package module
``B``, at module level or inside functions (a lazy import still runs). Imports under
``if TYPE_CHECKING:`` are kept as edges marked ``type_only``: they never run (no circle through them),
but they are design dependencies (the layer rule counts them). See tests/project/test_import_graph.py for the
full rules.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from tests.support.repo import PLUGIN_SRC

PACKAGE = "lakeloop"
PACKAGE_DIR = PLUGIN_SRC / PACKAGE


@dataclass(frozen=True)
class Edge:
    """One import statement: ``source`` imports ``target`` at ``line`` of ``source``'s file."""

    source: str
    target: str
    line: int
    type_only: bool = False


@dataclass
class Graph:
    """The package's modules (dotted name -> file), their import edges and the private-name findings."""

    modules: dict[str, Path]
    edges: list[Edge]
    private: list[str]

    def adjacency(self) -> dict[str, set[str]]:
        """Dotted module name -> the set of package modules it imports (self included if it does)."""
        adj: dict[str, set[str]] = {m: set() for m in self.modules}
        for e in self.edges:
            if not e.type_only:
                adj[e.source].add(e.target)
        return adj


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_names(root: Path) -> dict[str, Path]:
    """Every ``.py`` file under ``root`` (the package directory) by dotted module name."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve_from(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    """The absolute module name a ``from ... import`` statement reads from."""
    if not node.level:
        return node.module or ""
    base = current.split(".") if is_package else current.split(".")[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _type_checking_lines(tree: ast.AST) -> set[int]:
    """Line numbers of the statements under ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and (
            (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
            or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
        ):
            for stmt in node.body:
                for inner in ast.walk(stmt):
                    if hasattr(inner, "lineno"):
                        lines.add(inner.lineno)
    return lines


def _private_module_outside(target: str, source: str) -> bool:
    """True when ``target`` is (under) a private module ``P._x`` and ``source`` is not inside ``P``."""
    parts = target.split(".")
    for i, part in enumerate(parts):
        if _is_private(part):
            owner = ".".join(parts[:i])
            if not (source == owner or source.startswith(owner + ".")):
                return True
    return False


def _literal_import(node: ast.AST) -> str | None:
    """The module a call ``importlib.import_module("a.b")`` / ``import_module(...)`` /
    ``__import__("a.b")`` names with a string literal (None for anything else, a computed name
    included: that one cannot be read from the source)."""
    if not (
        isinstance(node, ast.Call)
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return node.args[0].value if name in ("import_module", "__import__") else None


def build_graph(root: Path = PACKAGE_DIR) -> Graph:
    """Parse every module under ``root`` and return its import graph and private-name findings."""
    modules = _module_names(root)
    edges: list[Edge] = []
    private: list[str] = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        bound_modules: dict[str, str] = {}  # local alias -> package module it names
        type_only = _type_checking_lines(tree)

        def add(target: str, line: int, source: str = name, type_lines: set[int] = type_only) -> None:
            edges.append(Edge(source, target, line, line in type_lines))
            if _private_module_outside(target, source):
                private.append(f"{source}:{line} imports private module {target}")

        for node in ast.walk(tree):
            literal = _literal_import(node)
            if literal is not None:
                target = literal if literal in modules else literal.rsplit(".", 1)[0]
                if target in modules:
                    add(target, node.lineno)
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in modules:
                        add(alias.name, node.lineno)
                        bound = alias.asname or alias.name.split(".")[0]
                        bound_modules[bound] = alias.name if alias.asname else alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom):
                source = _resolve_from(node, name, is_package)
                if source not in modules:
                    continue
                for alias in node.names:
                    sub = f"{source}.{alias.name}"
                    if sub in modules:
                        add(sub, node.lineno)
                        bound_modules[alias.asname or alias.name] = sub
                        continue
                    add(source, node.lineno)
                    if alias.name != "*" and _is_private(alias.name) and source != name:
                        private.append(f"{name}:{node.lineno} imports {alias.name} from {source}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in bound_modules
                and _is_private(node.attr)
                and bound_modules[node.value.id] != name
            ):
                target = bound_modules[node.value.id]
                sub = f"{target}.{node.attr}"
                if sub in modules and not _private_module_outside(sub, name):
                    continue
                private.append(f"{name}:{node.lineno} uses {node.value.id}.{node.attr} of {target}")
    return Graph(modules, edges, sorted(set(private)))


def strongly_connected(adj: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of ``adj`` (iterative), each sorted, in name order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(adj):
        if start in index:
            continue
        work = [(start, iter(sorted(adj[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(adj[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                out.append(sorted(component))
    return sorted(out)


def cycles(graph: Graph) -> list[str]:
    """One line per circle: its modules, then the import lines that join them."""
    adj = graph.adjacency()
    found = []
    for component in strongly_connected(adj):
        members = set(component)
        if len(component) == 1 and component[0] not in adj[component[0]]:
            continue
        inside = sorted(
            {
                f"{e.source}:{e.line} -> {e.target}"
                for e in graph.edges
                if e.source in members and e.target in members and not e.type_only
            },
            key=lambda s: (s.split(":")[0], s),
        )
        found.append(f"circle {' <-> '.join(component)}\n      " + "\n      ".join(inside))
    return found


def summary(graph: Graph) -> str:
    """How big the graph is and what each module imports from the package."""
    adj = graph.adjacency()
    type_only = sum(e.type_only for e in graph.edges)
    lines = [
        f"{len(graph.modules)} modules, {len(graph.edges)} imports of package modules "
        f"({type_only} under TYPE_CHECKING, not edges), {sum(len(t) for t in adj.values())} distinct edges"
    ]
    for module in sorted(adj):
        if adj[module]:
            lines.append(f"  {module} -> {', '.join(sorted(adj[module]))}")
    return "\n".join(lines)
