"""lakeloop.records: the dataclass stand-in the hook paths use (no ``inspect`` import)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lakeloop.records import FrozenInstanceError, dataclass, field, fields, replace
from tests.support.repo import PLUGIN_SRC


@dataclass
class Row:
    id: str
    tags: list = field(default_factory=list)
    n: int = 1
    secret: str = field(default="s3cr3t", repr=False)


@dataclass(frozen=True)
class Key:
    a: str
    b: int = 0


def test_init_defaults_factories_and_keywords():
    r1, r2 = Row("x"), Row(id="y", n=3)
    assert (r1.id, r1.tags, r1.n) == ("x", [], 1) and r2.n == 3
    r1.tags.append("t")
    assert r2.tags == []  # one list per instance
    assert fields(Row) == ("id", "tags", "n", "secret")
    with pytest.raises(TypeError):
        Row()
    with pytest.raises(TypeError):
        Row("x", nope=1)


def test_equality_repr_and_hashing():
    assert Row("x") == Row("x") and Row("x") != Row("y")
    assert "s3cr3t" not in repr(Row("x")) and "id='x'" in repr(Row("x"))
    with pytest.raises(TypeError):
        hash(Row("x"))
    assert hash(Key("a")) == hash(Key("a")) and {Key("a"): 1}[Key("a", 0)] == 1


def test_frozen_and_replace():
    k = Key("a")
    with pytest.raises(FrozenInstanceError):
        k.a = "b"
    k2 = replace(k, b=5)
    assert (k.b, k2.b, k2.a) == (0, 5, "a")
    with pytest.raises(TypeError):
        replace(k, c=1)


def test_a_default_before_a_required_field_is_refused():
    with pytest.raises(TypeError):

        @dataclass
        class Bad:
            a: int = 1
            b: str


def test_the_memory_hook_path_imports_neither_dataclasses_nor_inspect_nor_typing():
    code = (
        "import sys, lakeloop.hooks.main, lakeloop.boundedjson, lakeloop.memory.answer, "
        "lakeloop.store.embedded, lakeloop.memory.grep, lakeloop.memory.tree, lakeloop.memory.notes, "
        "lakeloop.memory.bash.parser, lakeloop.memory.bash.runner, lakeloop.memory.prefilter, "
        "lakeloop.deeplake.credentials; "
        "print(sorted(m for m in ('dataclasses', 'inspect', 'typing') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(PLUGIN_SRC), "PATH": "/usr/bin:/bin"},
    ).stdout
    assert out.strip() == "[]"
