"""The test suite's own import rule: a test module imports helpers from ``tests/support/`` only.

Every ``*.py`` under ``tests/`` is read with ``ast`` (nothing is imported). Among the suite's own
modules, an import may name ``tests.support`` or a module under it, and nothing else:

* not ``conftest`` (fixtures reach a test through pytest, never through an import);
* not another test module, spelled as pytest's old rootdir import made possible (``import test_x``,
  ``from test_x import ...``, any bare name of a module of the suite outside ``tests/support/``) or
  as a package path (``from tests.capture.test_rows import ...``, ``from tests.capture import
  test_rows``, a relative import);
* not through ``__import__("...")`` or ``importlib.import_module("...")`` with a constant name.

``tests/support/`` modules follow the same rule, so no helper depends on a test module either.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.repo import REPO

TESTS = REPO / "tests"
ALLOWED = "tests.support"
_DYNAMIC = {"__import__", "import_module"}


def _module_name(path: Path) -> str:
    """Dotted name of ``path`` (a file under ``tests/``): ``tests.capture.test_rows``."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _suite_stems(root: Path) -> set[str]:
    """Bare names a module of the suite outside ``tests/support/`` could be imported by."""
    return {p.stem for p in root.rglob("*.py") if "support" not in p.relative_to(root).parts[:1]} - {"__init__"}


def _resolve(node: ast.ImportFrom, current: str, is_package: bool) -> str:
    """The absolute module a ``from`` import names (relative levels resolved against ``current``)."""
    if not node.level:
        return node.module or ""
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def refused_imports(source: str, module: str, is_package: bool, stems: set[str]) -> list[tuple[int, str]]:
    """``[(line, imported name)]`` of the imports in ``source`` (the text of ``module``) that break
    the rule; ``stems`` are the bare names of the suite's non-support modules."""

    def refused(name: str) -> bool:
        top = name.split(".")[0]
        if top == "tests":
            return not (name == ALLOWED or name.startswith(ALLOWED + ".") or name == "tests")
        return top == "conftest" or top.startswith("test_") or top in stems

    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(node, module, is_package)
            names = [target]
            if target == "tests":  # ``from tests import x``: x is the module named
                names = [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if called in _DYNAMIC and isinstance(node.args[0].value, str):
                names = [node.args[0].value]
        found += [(node.lineno, name) for name in names if refused(name)]
    return found


def test_no_test_module_imports_a_test_module_or_conftest():
    """Every file of the suite, ``tests/support/`` included, imports only ``tests.support`` among the
    suite's modules."""
    stems = _suite_stems(TESTS)
    problems = []
    for path in sorted(TESTS.rglob("*.py")):
        if "data" in path.relative_to(TESTS).parts[:1]:
            continue
        module = _module_name(path)
        for line, name in refused_imports(path.read_text(encoding="utf-8"), module, path.name == "__init__.py", stems):
            problems.append(f"{path.relative_to(REPO)}:{line} imports {name}")
    assert not problems, "import helpers from tests/support/ instead:\n" + "\n".join(problems)


def test_the_rule_sees_every_spelling():
    """Each way of reaching a test module or conftest is refused; helpers from tests.support are not."""
    stems = {"conftest", "isolation_probe", "test_rows"}
    refused = [
        "import conftest",
        "from conftest import REPO",
        "import test_rows",
        "from test_outbox import hook",
        "import isolation_probe",
        "from tests.capture.test_rows import SID",
        "from tests.capture import test_rows",
        "import tests.capture.test_rows",
        "from tests.conftest import fresh_log",
        "from . import test_rows",
        "from .test_rows import SID",
        "from ..capture.test_rows import SID",
        '__import__("conftest")',
        'importlib.import_module("tests.outbox.test_outbox")',
    ]
    allowed = [
        "from tests.support.hooks import run_hook",
        "import tests.support.repo",
        "from tests import support",
        "from tests.support import isolation",
        "import json",
        "from lakeloop import paths",
    ]
    for source in refused:
        assert refused_imports(source, "tests.memory.test_x", False, stems), source
    for source in allowed:
        assert not refused_imports(source, "tests.memory.test_x", False, stems), source
