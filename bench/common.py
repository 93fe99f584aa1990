"""What every benchmark here shares: a fresh, isolated environment for this process and its children.

``setup(tmp, env=None, pythonpath=(), sys_path=())`` clears every ``LAKELOOP_*`` and ``DEEPLAKE_*``
variable, then points ``HOME``, the data, log and skills directories into ``tmp``, selects the
embedded store, makes the Deeplake credentials file one that does not exist (so nothing is ever
sent to Deeplake), puts ``plugin/`` first on this process's ``sys.path`` and on the children's
``PYTHONPATH``, and creates ``tmp/home``. Nothing of the person's own setup leaks into a run.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

#: The repository's root.
ROOT = Path(__file__).resolve().parents[1]
#: The package's source directory (``plugin/``, where ``lakeloop`` is imported from).
PLUGIN = ROOT / "plugin"


def setup(
    tmp: str,
    env: Mapping[str, str] | None = None,
    pythonpath: Sequence[str | Path] = (),
    sys_path: Sequence[str | Path] = (),
) -> None:
    """This process's (and its children's) environment in directory ``tmp`` (module docstring).

    ``env``: more variables, set last (they may override the defaults above); ``pythonpath``:
    directories put before ``plugin/`` on the children's ``PYTHONPATH``; ``sys_path``: directories
    put after ``plugin/`` at the front of this process's ``sys.path``. Raises OSError when
    ``tmp/home`` cannot be created (it must not exist yet)."""
    for name in list(os.environ):
        if name.startswith(("LAKELOOP_", "DEEPLAKE_")):
            del os.environ[name]
    os.environ.update(
        HOME=f"{tmp}/home",
        LAKELOOP_DATA_DIR=f"{tmp}/data",
        LAKELOOP_LOG_DIR=f"{tmp}/log",
        LAKELOOP_SKILLS_DIR=f"{tmp}/skills",
        LAKELOOP_DEEPLAKE_CREDENTIALS=f"{tmp}/none/credentials.json",
        LAKELOOP_STORE="embedded",
        PYTHONPATH=os.pathsep.join([*(str(p) for p in pythonpath), str(PLUGIN)]),
    )
    os.environ.update(env or {})
    Path(f"{tmp}/home").mkdir(parents=True)
    sys.path[:0] = [str(PLUGIN), *(str(p) for p in sys_path)]
