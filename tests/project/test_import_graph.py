"""The package's import graph, read from the source with ``ast``: no circle, no private name across modules.

Rules checked over every module under ``plugin/lakeloop``:

* **No import circle.** An edge ``A -> B`` is any ``import`` or ``from ... import`` statement in ``A``
  that can run: at module level and inside functions and methods (a lazy import still runs, so a
  circle through one is a circle). Imports under ``if TYPE_CHECKING:`` never run and make no
  edge for this rule; they are still read for the private-name rule below, and a layer rule may
  count them (they are design dependencies, not import circles). Relative imports are resolved
  against the importing module. ``from P import x`` where
  ``P.x`` is a module is an edge to that submodule (``from . import lexer`` imports
  ``memory.lexer``); any other name is an edge to ``P`` itself. ``import a.b.c`` is an edge to
  ``a.b.c`` only: the parent packages' ``__init__`` files are modules like any other, and an edge
  to one exists only when it is imported by name. Imports of names outside the package (the
  standard library, dependencies) are not edges. ``importlib.import_module`` and ``__import__`` with a string
  literal are edges too; with a computed name they cannot be read from the source and are not
  seen.
* **No private name across modules.** ``from M import _name`` (one leading underscore; dunder names
  such as ``__version__`` are public) is refused when ``M`` is another module, and so is reaching
  ``alias._name`` through a module bound by an import (``from . import grep_pattern`` then
  ``grep_pattern._parse``). A private *module* (``cli/_output.py``) is its package's own: modules
  inside that package may import it and its public names, modules outside may not.

On failure the test prints every circle (with the import lines that make it) and every private
import, then a summary of the graph.
"""

from __future__ import annotations

from tests.support.import_graph import PACKAGE, build_graph, cycles, summary


def test_the_graph_sees_the_package():
    """The reader finds the modules and the kinds of import it claims to (so an empty graph cannot pass)."""
    graph = build_graph()
    assert "lakeloop.memory.answer" in graph.modules and "lakeloop.cli.main" in graph.modules
    targets = {(e.source, e.target) for e in graph.edges}
    # a function-level relative import of a sibling package's module
    assert ("lakeloop.store", "lakeloop.store.embedded") in targets
    # `from .. import config` is an edge to the submodule lakeloop.config
    assert ("lakeloop.redact", "lakeloop.config") in targets
    assert len(graph.edges) > 200


def test_no_import_circle_and_no_private_import():
    """No circle (self-import included) and no ``_private`` name taken from another module."""
    graph = build_graph()
    problems = cycles(graph) + graph.private
    assert not problems, "\n".join(["import graph problems:", *problems, "", summary(graph)])


def test_the_rules_catch_what_they_claim(tmp_path):
    """A tiny package with a function-level circle, a private name, a private attribute and a
    private module used from outside its package: each is reported; a dunder name is not, nor a
    circle closed only under ``TYPE_CHECKING`` (its private import is)."""
    pkg = tmp_path / PACKAGE
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("__version__ = '1'\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "_inner.py").write_text("X = 1\n")
    (pkg / "sub" / "ok.py").write_text("from ._inner import X\n")
    (pkg / "a.py").write_text("def f():\n    from . import b\n    return b._hidden\n")
    (pkg / "b.py").write_text("from .a import f, _g\nfrom . import __version__\nfrom .sub import _inner\n")
    (pkg / "c.py").write_text("from .d import D\n")
    (pkg / "d.py").write_text("TYPE_CHECKING = False\nif TYPE_CHECKING:\n    from .c import _C\nD = 1\n")
    (pkg / "e.py").write_text("import importlib\ndef f():\n    importlib.import_module('lakeloop.f')\n")
    (pkg / "f.py").write_text("def g():\n    __import__('lakeloop.e')\n")
    graph = build_graph(pkg)
    assert [c.splitlines()[0] for c in cycles(graph)] == [
        "circle lakeloop.a <-> lakeloop.b",
        "circle lakeloop.e <-> lakeloop.f",
    ]
    assert graph.private == [
        "lakeloop.a:3 uses b._hidden of lakeloop.b",
        "lakeloop.b:1 imports _g from lakeloop.a",
        "lakeloop.b:3 imports private module lakeloop.sub._inner",
        "lakeloop.d:3 imports _C from lakeloop.c",
    ]
