"""Where the parts of this checkout are, for the tests and their helpers (all absolute ``Path``s).

* ``REPO``: the repository root.
* ``PLUGIN_SRC``: ``plugin/``, the directory that goes first on ``sys.path`` (``tests/conftest.py``)
  or ``PYTHONPATH`` (a child process) so that ``import lakeloop`` finds the sources.
* ``PACKAGE_DIR``: ``plugin/lakeloop``, the package itself.
* ``HOOK_RUN``: ``hooks/run``, the launcher Claude Code runs for every hook event.
* ``TEST_DATA``: ``tests/data``, the tests' fixed inputs (corpora).
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLUGIN_SRC = REPO / "plugin"
PACKAGE_DIR = PLUGIN_SRC / "lakeloop"
HOOK_RUN = REPO / "hooks" / "run"
TEST_DATA = REPO / "tests" / "data"
