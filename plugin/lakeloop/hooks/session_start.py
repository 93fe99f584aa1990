"""SessionStart: show waiting notices to the user, start a drainer for events an earlier
session left in the outbox, and pull the latest team skills.

The pull runs in a detached child; the hook waits for it at most
``PULL_WAIT_S`` seconds (the embedded store answers in milliseconds; a slow or
failing Deeplake never holds the session up longer) and the child finishes
on its own if it needs more. Notices (e.g. Deeplake out of credits) are
printed as the hook output's ``systemMessage``: Claude Code shows it to the
user and does not add it to the model's context. Nothing else is printed.
"""

from __future__ import annotations

import json
import sys

from .. import config

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    from typing import Any

    import logging

#: Longest the session start waits for the pull, seconds.
PULL_WAIT_S = 2.0


def _pull(log: logging.Logger, source: str, session: str) -> None:
    from ..skillopt.pull import pull
    from ..store import open_store

    with open_store() as store:
        result = pull(store, log)
    log.info("session start session=%s source=%s pulled=%d unchanged=%d refused=%d", session, source,
             len(result.written), len(result.unchanged), len(result.refused))


def handle(payload: dict[str, Any], log: logging.Logger) -> None:
    """Print waiting notices as a systemMessage, then pull (bounded wait)."""
    if config.in_worker():
        return
    from ..notices import take

    texts = take()
    if texts:
        sys.stdout.write(json.dumps({"systemMessage": "\n".join(texts)}) + "\n")
        sys.stdout.flush()
        log.info("showed %d notice(s) to the user", len(texts))
    from .. import outbox

    if outbox.pending():  # events left by an earlier session (store down, machine off): store them now
        from .capture import drainer_child
        from ..outbox.spool import start_drainer

        try:
            if start_drainer(drainer_child) == "started":
                log.info("session start: started a drainer for %d waiting event(s)", len(outbox.pending()))
        except OSError as exc:
            log.warning("session start: could not start a drainer: %s", exc)
    session = str(payload.get("session_id", ""))[:64]
    source = str(payload.get("source", ""))[:20]
    from ..detach import fork_detached, wait_briefly

    def child() -> None:
        from ..log import setup

        _pull(setup("hook.SessionStart"), source, session)

    pid = fork_detached(child, "hook.SessionStart")
    if pid is None:
        _pull(log, source, session)
    elif not wait_briefly(pid, PULL_WAIT_S):
        log.warning("session start: pull still running after %.1f s; it finishes in the background", PULL_WAIT_S)
