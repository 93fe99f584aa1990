"""Both stores in turn, for a test and the hooks it starts, and awaiting what a hook stored.

Use with ``from tests.support.stores import store_kind  # noqa: F401`` (and the Deeplake
fixtures: ``from tests.support.fixtures import deeplake, postgres_cluster  # noqa: F401``).

* ``store_kind`` (function fixture, params ``"embedded"``, ``"deeplake"``): ``LAKELOOP_STORE``
  set for this process and the hooks it launches; for ``"deeplake"`` the stand-in (on a real
  PostgreSQL) is started and its credentials set (org name ``acme``), the shared client reset.
  The drainer a hook starts exits as soon as it is idle. Returns the store's name.
* ``wait_until(condition, timeout, what, step)``: poll ``condition`` until it returns something
  truthy (returned) or fail after ``timeout`` seconds naming ``what``: await, never sleep.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import pytest


@pytest.fixture(params=["embedded", "deeplake"])
def store_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The store in turn, for this process and the hooks it starts."""
    if request.param == "deeplake":
        standin = request.getfixturevalue("deeplake")
        for key, value in (("TOKEN", standin.token), ("ORG_ID", standin.org_id), ("ORG_NAME", "acme"),
                           ("WORKSPACE", standin.workspace), ("API_URL", standin.base_url)):
            monkeypatch.setenv(f"LAKELOOP_DEEPLAKE_{key}", value)
        monkeypatch.setenv("LAKELOOP_STORE", "deeplake")
        import lakeloop.deeplake.client as client_module

        monkeypatch.setattr(client_module, "_shared", None)
    else:
        monkeypatch.setenv("LAKELOOP_STORE", "embedded")
    monkeypatch.setenv("LAKELOOP_DRAIN_LINGER_S", "0")
    return request.param


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
