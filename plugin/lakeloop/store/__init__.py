"""The store: one interface (``Store``), two implementations.

``open_store()`` picks the implementation: the embedded SQLite store when the
user has no Deeplake credentials (the only one in this release).
"""

from __future__ import annotations

from .base import SessionRow, SkillRow, Store


def open_store() -> Store:
    """Open the store configured for this machine.

    Raises StoreUnavailable when it cannot be opened.
    """
    from .embedded import EmbeddedStore

    return EmbeddedStore.open_default()


def current_identity():
    """The ``rows.Identity`` rows are written for: the user, org name ``local`` and
    workspace ``default`` on the embedded store."""
    from .. import config
    from ..rows import Identity

    return Identity(user=config.user_name())


__all__ = ["SessionRow", "SkillRow", "Store", "current_identity", "open_store"]
