"""The package's layers go one way, top to bottom, as docs/architecture.md draws them.

Every module of ``plugin/lakeloop`` belongs to one layer (by its dotted name: the longest prefix in
``LAYERS`` wins). A module may import modules of its own layer or of a layer below it, never of a
layer above; imports inside functions and under ``TYPE_CHECKING`` count (a lazy import is still a
dependency). Circles inside a layer are the import-graph test's business. A module no layer names
fails the test, so a new package has to be placed on purpose.
"""

from __future__ import annotations

from tests.support.import_graph import Graph, build_graph

#: Top (0) to bottom. Keep in step with docs/architecture.md.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("entry points", ("cli", "hooks", "demo_agent", "ui")),
    ("capabilities", ("capture", "memory", "skillopt", "jobs", "summaries")),
    ("storage and safety", ("store", "redact", "outbox", "agents")),
    ("Deeplake client", ("deeplake",)),
    (
        "foundations",
        (
            "",
            "errors",
            "log",
            "paths",
            "config",
            "identity",
            "locks",
            "textsafe",
            "records",
            "boundedjson",
            "fsutil",
            "detach",
            "notices",
        ),
    ),
]


def layer_of(module: str) -> int | None:
    """Index in ``LAYERS`` of ``module`` (``lakeloop.x.y``), or None when no layer names it."""
    rel = module.split(".", 1)[1] if "." in module else ""
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            hit = rel == prefix or (prefix and rel.startswith(prefix + "."))
            if hit and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def violations(graph: Graph) -> list[str]:
    """One line per import that reaches upward, and per module with no layer."""
    out = [f"{m} belongs to no layer" for m in sorted(graph.modules) if layer_of(m) is None]
    for e in sorted(graph.edges, key=lambda e: (e.source, e.line)):
        src, dst = layer_of(e.source), layer_of(e.target)
        if src is not None and dst is not None and dst < src:
            kind = " (TYPE_CHECKING)" if e.type_only else ""
            out.append(f"{e.source}:{e.line} ({LAYERS[src][0]}) imports {e.target} ({LAYERS[dst][0]}){kind}")
    return out


def test_layers_go_one_way():
    """No module imports from a layer above its own."""
    problems = violations(build_graph())
    assert not problems, "upward imports:\n" + "\n".join(problems)


def test_the_layer_rule_catches_an_upward_import(tmp_path):
    """A store module importing a hook module, even lazily, is reported; a hook importing the store is not;
    an unplaced module is reported."""
    pkg = tmp_path / "lakeloop"
    for sub in ("store", "hooks"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "store" / "base.py").write_text("def f():\n    from ..hooks import main\n")
    (pkg / "hooks" / "main.py").write_text("from ..store import base\n")
    (pkg / "stray.py").write_text("")
    assert violations(build_graph(pkg)) == [
        "lakeloop.stray belongs to no layer",
        "lakeloop.store.base:2 (storage and safety) imports lakeloop.hooks.main (entry points)",
    ]
