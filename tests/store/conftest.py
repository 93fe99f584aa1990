"""Fixtures of the store tests.

* ``store``: the store of ``store_kind`` (each kind in turn where the test asks for
  ``store_kind``), opened for this test, its Deeplake tables created, closed after. A module that
  seeds its own rows defines its own ``store``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def store(store_kind: str) -> Iterator:
    """The opened store of ``store_kind`` (Deeplake: tables created first)."""
    from lakeloop.store import open_store

    s = open_store()
    if store_kind == "deeplake":
        s.ensure_tables()
    yield s
    s.close()
