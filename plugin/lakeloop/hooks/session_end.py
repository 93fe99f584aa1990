"""SessionEnd: nothing to store; the line in the log marks the session's end.

An open judgment window is kept: a resumed session's next prompt is still a reaction.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    import logging
    from typing import Any


def handle(payload: dict[str, Any], log: logging.Logger) -> None:
    """Log the end of the session and its reason."""
    log.info(
        "session end session=%s reason=%s", str(payload.get("session_id", ""))[:64], str(payload.get("reason", ""))[:40]
    )
