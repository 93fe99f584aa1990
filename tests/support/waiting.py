"""Awaiting a condition instead of sleeping.

* ``wait_until(condition, timeout, what, step=0.05, explain=None)``: poll ``condition`` every
  ``step`` seconds until it returns something truthy, and return that value; after ``timeout``
  seconds raise ``AssertionError`` naming ``what`` (and holding ``explain()``'s text when given,
  e.g. the log's last lines).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(
    condition: Callable[[], Any],
    timeout: float,
    what: str,
    step: float = 0.05,
    explain: Callable[[], str] | None = None,
) -> Any:
    """Poll ``condition`` until it returns something truthy (returned); raises AssertionError
    naming ``what`` (then ``explain()``'s text) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    detail = f"\n{explain()}" if explain is not None else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
