"""What the capture hooks stored, read back for assertions.

* ``capture(event, payload, **env)``: run ``hooks/run event`` (``tests.support.hooks.run_hook``)
  with the drainer not lingering; asserts the hook printed nothing.
* ``stored_messages()``: the ``message`` JSON texts of the embedded store's sessions rows, oldest
  first ([] while the store or its schema does not exist yet).
* ``decoded_strings(texts)``: the texts plus every string in them, and in JSON text found inside
  those strings, recursively (a secret must not survive at any depth).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from lakeloop import paths
from tests.support.hooks import run_hook


def capture(event: str, payload: dict, **env: str) -> None:
    """Send ``payload`` to the ``event`` hook as Claude Code does; the drainer exits when idle."""
    proc = run_hook(event, payload, LAKELOOP_DRAIN_LINGER_S="0", **env)
    assert proc.stdout == b"" and proc.stderr == b"", (proc.stdout, proc.stderr)


def stored_messages() -> list[str]:
    """The embedded store's sessions ``message`` texts, oldest first."""
    if not paths.store_file().exists():
        return []
    db = sqlite3.connect(paths.store_file())
    try:
        return [r[0] for r in db.execute("SELECT message FROM sessions ORDER BY rowid")]
    except sqlite3.OperationalError:  # the drainer is creating the schema
        return []
    finally:
        db.close()


def _decoded(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _decoded(key, out)
            _decoded(item, out)
    elif isinstance(value, list):
        for item in value:
            _decoded(item, out)
    elif isinstance(value, str):
        out.append(value)
        if value[:1] in "{[\"":
            try:
                _decoded(json.loads(value), out)
            except ValueError:
                pass


def decoded_strings(texts: list[str]) -> list[str]:
    """``texts`` (JSON texts) plus every string decoded from them, at any JSON depth."""
    out = list(texts)
    for text in texts:
        _decoded(json.loads(text), out)
    return out
