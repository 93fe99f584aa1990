"""The ``Store`` interface (``lakeloop.store.base``) is what callers are written against (the
worker, the CLI, the drainer): every store takes exactly the parameters of each of its abstract
methods, with the same names, kinds and defaults, so a call that type-checks against ``Store``
(``session_rows(path, types=..., mentions=...)``) works on each store."""

from __future__ import annotations

import inspect

import pytest

from lakeloop.store.base import Store
from lakeloop.store.deeplake import DeeplakeStore
from lakeloop.store.embedded import EmbeddedStore


def _parameters(cls: type, name: str) -> list[tuple[str, object, object]]:
    signature = inspect.signature(getattr(cls, name))
    return [(p.name, p.kind, p.default) for p in signature.parameters.values()]


@pytest.mark.parametrize("store_class", [EmbeddedStore, DeeplakeStore])
@pytest.mark.parametrize("method", sorted(Store.__abstractmethods__))
def test_each_store_takes_the_interface_parameters(store_class, method):
    assert _parameters(store_class, method) == _parameters(Store, method)
