"""The exception hierarchy.

::

    LakeloopError
    ├── StoreError            a store operation failed (the worker ends its run)
    │   └── StoreUnavailable  the store cannot be opened at all
    └── AgentError            the user's agent CLI could not be run or failed
"""

from __future__ import annotations


class LakeloopError(Exception):
    """Base of every error lakeloop raises on purpose."""


class StoreError(LakeloopError):
    """A query or insert against the store failed. Messages never hold secrets."""


class StoreUnavailable(StoreError):
    """The store could not be opened (bad path, corrupt file, no credentials)."""


class AgentError(LakeloopError):
    """The agent CLI used for the judge or proposer is missing, timed out or failed."""
