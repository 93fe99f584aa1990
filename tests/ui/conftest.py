"""Fixtures of the dashboard's browser tests (``tests.support.browser``).

* ``chromium`` (session): ``(browser, driver)`` paths with matching major versions. Without Debian's
  ``chromium`` and ``chromium-driver`` the tests that use it skip, unless ``CI`` is set: there they
  fail (``.ci/run`` installs both).
* ``browser`` (module): one headless Chromium for the module, fresh profile in a temporary directory.
  As it closes, its net log must show no traffic beyond loopback (else the module's last test errors).
* ``fresh_browser``: a browser of its own for one test (no cookie of the module's browser).
* ``running_ui``: a running ``lakeloop ui --no-browser --port 0`` of this test (``tests.support.ui.Ui``),
  killed when the test ends.
* ``screenshots`` (module): the directory screenshots go to (``$LAKELOOP_UI_SCREENSHOTS`` when set,
  else a temporary directory); printed with ``-s``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import browser as browser_support
from tests.support.ui import Ui, running_ui_fixture


def pytest_report_header(config: pytest.Config) -> str:
    """The browser pair the tests drive (shown when tests/ui is named on the command line)."""
    paths = browser_support.chromium_paths()
    if paths is None:
        return "chromium: not installed"
    try:
        return "chromium: {} / {}".format(*browser_support.check_versions(paths))
    except AssertionError as exc:
        return f"chromium: {exc}"


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    """``(browser, driver)``: Debian's Chromium and chromedriver of the same major version."""
    paths = browser_support.chromium_paths()
    if paths is None:
        reason = "Debian's chromium and chromium-driver are not installed (.ci/run installs them)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is an error)", pytrace=False)
        pytest.skip(reason)
    browser_support.check_versions(paths)
    return paths


def _run_browser(workdir: Path, paths: tuple[str, str]) -> Iterator:
    driver = browser_support.start_browser(workdir, paths)
    try:
        yield driver
    finally:
        driver.quit()
        for name in ("profile", "home"):  # tens of MB of cache; the logs stay for a failed run
            shutil.rmtree(workdir / name, ignore_errors=True)
    offbox = browser_support.offbox_traffic(workdir / "netlog.json")
    assert not offbox, f"Chromium sent traffic beyond loopback: {offbox}"


@pytest.fixture(scope="module")
def browser(chromium: tuple[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    """A headless Chromium ``WebDriver`` shared by the module's tests."""
    yield from _run_browser(tmp_path_factory.mktemp("browser"), chromium)


@pytest.fixture
def fresh_browser(chromium: tuple[str, str], tmp_path: Path) -> Iterator:
    """A headless Chromium ``WebDriver`` of this test only (a profile without any cookie)."""
    yield from _run_browser(tmp_path / "browser", chromium)


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the module's screenshots go (created)."""
    directory = browser_support.screenshot_dir(tmp_path_factory.mktemp("ui-screenshots"))
    print(f"screenshots: {directory}")
    return directory


@pytest.fixture
def running_ui() -> Iterator[Ui]:
    """A running ``lakeloop ui`` (``tests.support.ui.Ui``) in this test's environment."""
    yield from running_ui_fixture()
