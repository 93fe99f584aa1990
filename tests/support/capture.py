"""What the capture hooks stored, read back for assertions.

* ``capture(event, payload, **env)``: run ``hooks/run event`` (``tests.support.hooks.run_quiet_hook``)
  with the drainer not lingering (unless ``env`` sets ``LAKELOOP_DRAIN_LINGER_S``); asserts the
  hook printed nothing.
* ``send_all([(event, payload), ...], env=None)``: ``capture`` each, in order, with ``env``.
* ``prompt(cwd, text, session=None)``, ``tool(cwd, output)``, ``stop(cwd, text)``: recorded
  UserPromptSubmit, PostToolUse (Bash) and Stop payloads of a session in ``cwd`` saying ``text``.
* ``stored_messages()``: the ``message`` JSON texts of the embedded store's sessions rows, oldest
  first ([] while the store or its schema does not exist yet); ``stored()``: the same, decoded;
  ``stored_with_agent()``: ``(agent column, decoded message)`` pairs.
* ``drained_up_to(sentinel, **env)``: capture a Stop saying ``sentinel`` from an ordinary directory
  and await it in the store: the drainer stores entries oldest first, so every event captured
  before it was handled by then. Returns ``stored()``; asserts the outbox is empty.
* ``decoded_strings(texts)``: the texts plus every string in them, and in JSON text found inside
  those strings, recursively (a secret must not survive at any depth).
"""

from __future__ import annotations

import json
import os
import sqlite3
from typing import Any

from lakeloop import outbox, paths
from tests.support.hooks import run_quiet_hook
from tests.support.payloads import first_payload
from tests.support.waiting import wait_until


def capture(event: str, payload: dict, agent: str | None = None, **env: str) -> None:
    """Send ``payload`` to the ``event`` hook as Claude Code does (as ``agent``'s installed hook
    does: ``hooks/run <event> <agent>``, when given); the drainer exits when idle."""
    run_quiet_hook(event, payload, agent=agent, **{"LAKELOOP_DRAIN_LINGER_S": "0", **env})


def send_all(items: list[tuple[str, dict]], env: dict | None = None) -> None:
    """``capture`` every ``(event, payload)`` of ``items`` in order, with the variables of ``env``."""
    for event, payload in items:
        capture(event, payload, **(env or {}))


def prompt(cwd: str | os.PathLike, text: str, session: str | None = None) -> dict:
    """A UserPromptSubmit payload of a session in ``cwd`` (of ``session`` when given) typing ``text``."""
    p = first_payload("UserPromptSubmit")
    p["cwd"], p["prompt"] = str(cwd), text
    if session:
        p["session_id"] = session
    return p


def tool(cwd: str | os.PathLike, output: str) -> dict:
    """A PostToolUse payload of a Bash call in ``cwd`` that printed ``output``."""
    p = first_payload("PostToolUse", "Bash")
    p["cwd"], p["tool_response"] = str(cwd), {"stdout": output, "stderr": ""}
    return p


def stop(cwd: str | os.PathLike, text: str) -> dict:
    """A Stop payload of a session in ``cwd`` whose last answer is ``text``."""
    p = first_payload("Stop")
    p["cwd"], p["last_assistant_message"] = str(cwd), text
    return p


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


def stored_with_agent() -> list[tuple[str, dict]]:
    """``(agent column, decoded message)`` of the embedded store's sessions rows, oldest first."""
    if not paths.store_file().exists():
        return []
    db = sqlite3.connect(paths.store_file())
    try:
        return [(r[0], json.loads(r[1])) for r in db.execute("SELECT agent, message FROM sessions ORDER BY rowid")]
    except sqlite3.OperationalError:  # the drainer is creating the schema
        return []
    finally:
        db.close()


def stored() -> list[dict]:
    """The embedded store's sessions messages, decoded, oldest first."""
    return [json.loads(text) for text in stored_messages()]


def drained_up_to(sentinel: str, **env: str) -> list[dict]:
    """Send a sentinel Stop from an ordinary directory and return the rows once it is stored."""
    capture("Stop", stop(paths.data_dir().parent / "ordinary", sentinel), **env)
    rows = wait_until(
        lambda: (r := stored()) and any(m.get("content") == sentinel for m in r) and r, 60, "the sentinel row"
    )
    assert outbox.pending() == []
    return rows


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
        if value[:1] in '{["':
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
