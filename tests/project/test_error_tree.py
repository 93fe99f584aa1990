"""One exception tree: every exception class of ``plugin/lakeloop`` derives from ``errors.LakeloopError``.

The package is imported module by module (``pkgutil.walk_packages``; nothing is skipped, so a
module that cannot be imported fails the test), and every class defined in it (at module level,
or nested in a class) that derives from ``BaseException`` is checked:

* it derives from ``LakeloopError`` (sub-trees, and a builtin second base such as ``ValueError``
  for callers that catch that, are fine), or it is one of ``CONTROL_SIGNALS``: classes that must
  derive from ``BaseException`` alone so that they escape every ``except Exception`` on their
  way, each listed with its reason;
* no two share a name (a name says what was refused: two classes under one name are two
  different things a reader cannot tell apart).

Importing cannot reach a class defined inside a function, so the source is read too (``ast``):
such a class must not derive from an exception.
"""

from __future__ import annotations

import ast
import builtins
import importlib
import pkgutil
import sys
from pathlib import Path
from types import ModuleType

from tests.support.repo import PLUGIN_SRC

#: ``module:Class`` -> why it derives from BaseException and not from LakeloopError.
CONTROL_SIGNALS = {
    "lakeloop.memory.answer:_Late": "the memory answer's deadline signal (raised from SIGALRM anywhere): "
    "it must escape every `except Exception` up to the answer's handler",
}

BUILTIN_EXCEPTIONS = {
    name for name, value in vars(builtins).items() if isinstance(value, type) and issubclass(value, BaseException)
}


def package_modules(package: ModuleType) -> list[ModuleType]:
    """``package`` and every module under it, imported (an import error propagates)."""
    modules = [package]
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        modules.append(importlib.import_module(info.name))
    return modules


def exception_classes(modules: list[ModuleType]) -> dict[str, type]:
    """``{"module:Qual.Name": class}`` of every exception class defined in ``modules`` (at module
    level or nested in a class defined there)."""
    found: dict[str, type] = {}

    def visit(owner: object, module: ModuleType) -> None:
        for value in list(vars(owner).values()):
            if isinstance(value, type) and value.__module__ == module.__name__:
                key = f"{module.__name__}:{value.__qualname__}"
                if key in found or value is owner:
                    continue
                if issubclass(value, BaseException):
                    found[key] = value
                visit(value, module)

    for module in modules:
        visit(module, module)
    return found


def local_exception_classes(root: Path, exception_names: set[str]) -> list[str]:
    """``file:line Name`` of each ``class`` statement inside a function under ``root`` whose base
    is a builtin exception or one of ``exception_names``."""
    out = []
    for path in sorted(root.rglob("*.py")):
        where = path.relative_to(root.parent)
        stack: list[tuple[ast.AST, bool]] = [(ast.parse(path.read_text(encoding="utf-8")), False)]
        while stack:
            node, in_function = stack.pop()
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.ClassDef) and in_function:
                    bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in child.bases}
                    if bases & (BUILTIN_EXCEPTIONS | exception_names):
                        out.append(f"{where}:{child.lineno} {child.name}")
                stack.append(
                    (child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))
                )
    return sorted(out)


def tree_problems(package: ModuleType, base: type, signals: dict[str, str]) -> list[str]:
    """One line per exception class of ``package`` outside ``base``'s tree (and not in ``signals``),
    per name two classes share, per stale ``signals`` entry, and per exception class defined inside
    a function."""
    classes = exception_classes(package_modules(package))
    problems = []
    for key, cls in sorted(classes.items()):
        if key in signals:
            if issubclass(cls, Exception):
                problems.append(f"{key} is listed as a control signal but derives from Exception")
        elif not issubclass(cls, base):
            problems.append(
                f"{key} does not derive from {base.__name__} (bases: {', '.join(b.__name__ for b in cls.__bases__)})"
            )
    problems += [f"{key} is listed as a control signal but does not exist" for key in signals if key not in classes]
    by_name: dict[str, list[str]] = {}
    for key, cls in classes.items():
        by_name.setdefault(cls.__name__, []).append(key)
    problems += [
        f"{name} is defined {len(keys)} times: {', '.join(sorted(keys))}"
        for name, keys in sorted(by_name.items())
        if len(keys) > 1
    ]
    root = Path(package.__file__).parent
    problems += [
        f"{where} is an exception class defined inside a function"
        for where in local_exception_classes(root, {cls.__name__ for cls in classes.values()})
    ]
    return problems


def test_every_exception_class_derives_from_lakeloop_error_and_has_its_own_name():
    """The real package: no problem, and the walk saw the classes it must (so an empty walk cannot pass)."""
    import lakeloop
    from lakeloop.errors import LakeloopError

    problems = tree_problems(lakeloop, LakeloopError, CONTROL_SIGNALS)
    assert not problems, "exception tree problems:\n" + "\n".join(problems)
    classes = exception_classes(package_modules(lakeloop))
    names = {cls.__name__ for cls in classes.values()}
    assert {
        "LakeloopError",
        "StoreError",
        "PayloadError",
        "OutboxFull",
        "SkillPushRefused",
        "BadSkillRef",
        "DeeplakeStatementRefused",
        "FrozenInstanceError",
    } <= names
    assert len(classes) > 20


def test_builtin_bases_kept_for_callers_that_catch_them():
    """Classes that callers catch by their builtin base still are one."""
    from lakeloop.boundedjson import PayloadError
    from lakeloop.outbox.spool import OutboxFull
    from lakeloop.records import FrozenInstanceError
    from lakeloop.skillopt.publish import SkillPushRefused

    assert issubclass(PayloadError, ValueError) and issubclass(OutboxFull, OSError)
    assert issubclass(FrozenInstanceError, AttributeError) and issubclass(SkillPushRefused, ValueError)


def test_the_check_catches_what_it_claims(tmp_path, monkeypatch):
    """A tiny package: a plain Exception subclass, two classes with one name, a function-local
    exception class, a stale signal entry and a listed signal that is an Exception are each
    reported; a sub-class of the base, a nested one and a true BaseException signal are not."""
    pkg = tmp_path / "errtreepkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("class Base(Exception):\n    pass\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "a.py").write_text(
        "from .. import Base\n\n"
        "class Fine(Base, ValueError):\n    class Inner(Base):\n        pass\n\n"
        "class Stray(Exception):\n    pass\n\n"
        "class Twice(Base):\n    pass\n\n"
        "class Signal(BaseException):\n    pass\n\n"
        "class NotASignal(Base):\n    pass\n\n"
        "def f():\n    class Hidden(KeyError):\n        pass\n    return Hidden\n"
    )
    (pkg / "b.py").write_text("from . import Base\n\nclass Twice(Base):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        package = importlib.import_module("errtreepkg")
        signals = {
            "errtreepkg.sub.a:Signal": "test",
            "errtreepkg.sub.a:NotASignal": "test",
            "errtreepkg.gone:Old": "test",
        }
        assert tree_problems(package, package.Base, signals) == [
            "errtreepkg.sub.a:NotASignal is listed as a control signal but derives from Exception",
            "errtreepkg.sub.a:Stray does not derive from Base (bases: Exception)",
            "errtreepkg.gone:Old is listed as a control signal but does not exist",
            "Twice is defined 2 times: errtreepkg.b:Twice, errtreepkg.sub.a:Twice",
            "errtreepkg/sub/a.py:20 Hidden is an exception class defined inside a function",
        ]
    finally:
        for name in [m for m in sys.modules if m == "errtreepkg" or m.startswith("errtreepkg.")]:
            del sys.modules[name]


def test_the_walk_covers_every_source_file():
    """Every ``.py`` file of the package is a module the walk imports (none is skipped)."""
    import lakeloop

    walked = {m.__name__ for m in package_modules(lakeloop)}
    root = PLUGIN_SRC / "lakeloop"
    files = {
        ".".join(("lakeloop", *p.relative_to(root).with_suffix("").parts)).removesuffix(".__init__")
        for p in root.rglob("*.py")
    }
    assert files - walked == set()
