"""Sessions rows for the stores, built the way the drainer builds them.

* ``stop_rows(n, session="s1", prefix="e")``: ``n`` rows of Stop events of ``session`` (answers
  ``"answer 0"``, ``"answer 1"``, ...) with event ids ``prefix + i``, captured by ``IDENTITY``
  (user ``dev``, org ``acme``, workspace ``default``).
"""

from __future__ import annotations

from lakeloop.capture.rows import build_message, session_row
from lakeloop.identity import Identity

IDENTITY = Identity("dev", "acme", "default")


def stop_rows(n: int, session: str = "s1", prefix: str = "e") -> list:
    """``n`` sessions rows (``SessionRow``) of Stop events, ids ``prefix0`` ... ``prefix{n-1}``."""
    out = []
    for i in range(n):
        message = build_message(
            {"hook_event_name": "Stop", "session_id": session, "last_assistant_message": f"answer {i}"},
            event_id=f"{prefix}{i}",
        )
        out.append(session_row(message, IDENTITY))
    return out
