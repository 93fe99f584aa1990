"""The suite's temporary usage is bounded: ``tests.support.tmp_usage`` measures what a run leaves
(``tests/conftest.py`` fails a passing run over ``LIMIT_BYTES``), pytest deletes a passing test's
``tmp_path``, and the pinned Claude Code lives in the user cache, not in the checkout or a test."""

from __future__ import annotations

from tests.support import claude_code, isolation
from tests.support.repo import REPO
from tests.support.tmp_usage import LIMIT_BYTES, over_limit, tree_bytes


def test_usage_is_measured_and_the_largest_entries_named(tmp_path):
    """2 MiB in one directory: counted once however often it is hard-linked; over a 1 MiB limit
    the message names the directory; under the real limit there is nothing to say."""
    big = tmp_path / "big"
    big.mkdir()
    (big / "blob").write_bytes(b"x" * (2 * 2**20))
    (big / "link").hardlink_to(big / "blob")
    (tmp_path / "small").mkdir()
    size = tree_bytes(tmp_path)
    assert 2 * 2**20 <= size < 3 * 2**20
    assert over_limit(tmp_path, LIMIT_BYTES) is None
    problem = over_limit(tmp_path, 2**20)
    assert problem is not None and f"{big} 2.0 MiB" in problem.split("largest: ")[1]


def test_passing_tests_leave_no_tmp_path_and_claude_code_is_cached_per_machine():
    """pytest keeps only failed tests' directories; the pinned Claude Code is installed under the
    real user's cache dir (resolved before this test's HOME was swapped), not the checkout."""
    assert '\ntmp_path_retention_policy = "failed"\n' in (REPO / "pyproject.toml").read_text()
    assert claude_code.PREFIX.is_relative_to(isolation.REAL_USER_CACHE)
    assert not claude_code.PREFIX.is_relative_to(REPO)
    assert not isolation.REAL_USER_CACHE.startswith(str(REPO))
