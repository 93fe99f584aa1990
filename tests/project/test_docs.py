"""The documentation cannot drift from the code, and the README stays a five-minute read.

* ``docs/settings.md`` lists exactly the settings ``lakeloop.config`` declares (one public
  function per ``LAKELOOP_*`` variable), each with the default that function returns.
* ``README.md`` is at most ``MAX_README_LINES`` lines.
* Every relative link of the README, ``docs/*.md`` and ``bench/RESULTS.md`` names a file that exists,
  and so does every test file they name by its path (``tests/.../test_x.py``, in prose or code).
* None of them cites an issue number: a page describes the rule itself.
"""

from __future__ import annotations

import ast
import getpass
import inspect
import os
import re
import textwrap

import pytest

from lakeloop import config
from tests.support.repo import REPO

ROOT = REPO
README = ROOT / "README.md"
SETTINGS = ROOT / "docs" / "settings.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "RESULTS.md"]
MAX_README_LINES = 150

_VARIABLE = re.compile(r"LAKELOOP_[A-Z0-9_]+")
#: Settings whose default is the machine's, stated in words on the page: what the default must equal.
MACHINE_DEFAULTS = {"user_name": getpass.getuser}


def _variables_read(function) -> set[str]:
    """The ``LAKELOOP_*`` names ``function``'s code reads: string constants that are exactly a
    variable name, and module constants holding one (``WORKER_ENV``). Docstrings are longer
    strings, so a variable they mention does not count."""
    found = set()
    for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(function)))):
        value = None
        if isinstance(node, ast.Constant):
            value = node.value
        elif isinstance(node, ast.Name):
            value = getattr(config, node.id, None)
        if isinstance(value, str) and _VARIABLE.fullmatch(value):
            found.add(value)
    return found


def declared_settings() -> dict[str, str]:
    """``{function name: variable}`` of every public function defined in ``lakeloop.config``
    that reads a ``LAKELOOP_*`` variable. Fails when one reads several (one setting each)."""
    out = {}
    for name, function in inspect.getmembers(config, inspect.isfunction):
        if name.startswith("_") or function.__module__ != config.__name__:
            continue
        variables = _variables_read(function)
        assert len(variables) <= 1, f"config.{name} reads {sorted(variables)}: one setting per function"
        if variables:
            out[name] = variables.pop()
    return out


def _cells(line: str) -> list[str]:
    """The cells of a markdown table row (``\\|`` inside a cell is not a separator)."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]


def documented_settings() -> list[tuple[str, str, str]]:
    """``(function name, variable, default cell)`` of every row of docs/settings.md whose last
    cell names a ``config`` function: ``| `VAR` | default | unit | meaning | `config.f()` |``."""
    rows = []
    for line in SETTINGS.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            continue
        cells = _cells(line)
        match = re.fullmatch(r"`config\.(\w+)\(\)`", cells[-1])
        if match:
            rows.append((match.group(1), cells[0].strip("`"), cells[1]))
    return rows


def test_settings_page_lists_exactly_what_config_declares():
    """Each setting of config.py has one row naming its variable, and no row names another."""
    declared = declared_settings()
    rows = documented_settings()
    assert declared, "no setting found in lakeloop.config"
    names = [name for name, _, _ in rows]
    assert len(names) == len(set(names)), "a setting is listed twice"
    listed = {(name, variable) for name, variable, _ in rows}
    wanted = set(declared.items())
    assert listed == wanted, (
        f"missing from the page: {sorted(wanted - listed)}; not in config: {sorted(listed - wanted)}"
    )


def test_settings_page_defaults_are_configs(monkeypatch):
    """The default of each row is what its function returns with no ``LAKELOOP_*`` variable set:
    a Python literal of the same type, or for a machine-dependent default (``MACHINE_DEFAULTS``)
    what the machine gives."""
    for variable in [v for v in os.environ if v.startswith("LAKELOOP_")]:
        monkeypatch.delenv(variable)
    for name, _variable, cell in documented_settings():
        actual = getattr(config, name)()
        if name in MACHINE_DEFAULTS:
            assert actual == MACHINE_DEFAULTS[name](), name
            continue
        try:
            stated = ast.literal_eval(cell.strip("`"))
        except (ValueError, SyntaxError):
            pytest.fail(f"config.{name}: default {cell!r} is not a Python literal")
        assert type(stated) is type(actual) and stated == actual, f"config.{name}: page says {cell}, code {actual!r}"


def test_readme_is_short():
    """The README is a page a newcomer reads in five minutes; the rest lives in docs/."""
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines (at most {MAX_README_LINES})"


def _prose(text: str) -> str:
    """``text`` without fenced code blocks and code spans (their brackets are not links)."""
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def _relative_links(text: str) -> list[str]:
    """Targets of inline (``[a](t)``) and reference (``[a]: t``) links that are neither URLs
    nor anchors of the same page, without their ``#anchor``."""
    prose = _prose(text)
    targets = re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", prose)
    targets += re.findall(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", prose, flags=re.M)
    return [
        t.split("#", 1)[0]
        for t in targets
        if not re.match(r"[a-z][a-z0-9+.-]*:", t, flags=re.I) and not t.startswith("#")
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_existing_files(page):
    """Every relative link of the page resolves, from the page's directory, to a file or directory."""
    assert page.is_file(), f"{page.relative_to(ROOT)} is missing"
    broken = [t for t in _relative_links(page.read_text(encoding="utf-8")) if not (page.parent / t).exists()]
    assert not broken, f"{page.relative_to(ROOT)} links to missing files: {broken}"


def _named_test_files(text: str) -> list[str]:
    """The paths ``tests/<...>.py`` named anywhere in ``text`` (prose, code spans, code blocks)."""
    return re.findall(r"(?<![\w/.-])tests/[\w/.-]+\.py\b", text)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_test_files_named_by_path_exist(page):
    """A page that points the reader at a test file names one that exists (tests move with the package)."""
    missing = [t for t in _named_test_files(page.read_text(encoding="utf-8")) if not (ROOT / t).is_file()]
    assert not missing, f"{page.relative_to(ROOT)} names missing test files: {missing}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_issue_numbers_cited(page):
    """Pages describe the rule itself and cite no issue number: a reader has no tracker to look it up in."""
    cited = [m.group(0) for m in re.finditer(r"\bissues? #?\d", page.read_text(encoding="utf-8"), flags=re.I)]
    assert not cited, f"{page.relative_to(ROOT)} cites {cited}"
