"""The environment of processes the skill optimizer and the job runner start.

``worker_env`` adds ``LAKELOOP_WORKER=1``, so nothing such a process starts (the judge's and
proposer's agent CLI, a summariser) is captured or re-arms a judgment window, and puts the
lakeloop sources on ``PYTHONPATH``.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import config

_PLUGIN_SRC = str(Path(__file__).resolve().parents[2])


def worker_env() -> dict[str, str]:
    """The environment of processes the optimizer starts: ours plus the recursion
    guard, with the lakeloop sources importable."""
    env = dict(os.environ)
    env[config.WORKER_ENV] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PLUGIN_SRC, env.get("PYTHONPATH", "")) if p)
    return env
