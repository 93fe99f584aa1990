"""Awaiting a condition instead of sleeping.

* ``wait_until(condition, timeout, what, step=0.05)``: poll ``condition`` every ``step`` seconds
  until it returns something truthy, and return that value; after ``timeout`` seconds raise
  ``AssertionError`` naming ``what``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def wait_until(condition: Callable[[], Any], timeout: float, what: str, step: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something truthy (returned); raises AssertionError
    naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
