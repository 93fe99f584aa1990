"""SessionStart: pull the latest team skills into the skills dir.

Bounded: the embedded store answers in milliseconds; a failure is logged and
the session starts as usual. Prints nothing (SessionStart's stdout would reach
the model's context).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    from typing import Any

    import logging

from .. import config


def handle(payload: dict[str, Any], log: logging.Logger) -> None:
    """Pull team skills (skipped inside the skill optimizer's own sessions)."""
    if config.in_worker():
        return
    from ..skillopt.pull import pull
    from ..store import open_store

    with open_store() as store:
        result = pull(store, log)
    log.info("session start session=%s source=%s pulled=%d unchanged=%d refused=%d",
             str(payload.get("session_id", ""))[:64], str(payload.get("source", ""))[:20],
             len(result.written), len(result.unchanged), len(result.refused))
