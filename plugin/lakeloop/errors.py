"""The exception hierarchy.

::

    LakeloopError
    ├── StoreError                 a store operation failed (the worker ends its run)
    │   ├── StoreUnavailable       the store cannot be opened at all
    │   └── DeeplakeError          the Deeplake tables API failed (.status, .body)
    │       ├── TransientError     worth retrying: 429, 500, 502, 503, 504
    │       │   ├── NetworkError   connect/read/protocol failure or timeout (no response)
    │       │   ├── SlotTimeout    no free request slot within the wait budget (not retried)
    │       │   └── OutcomeUnknown a non-idempotent request (an INSERT) may or may not have
    │       │                      been applied: 5xx, or the connection failed after sending
    │       └── PermanentError     retrying cannot help
    │           ├── PaymentRequired  402: the organisation is out of credits
    │           ├── AuthError        401 / 403
    │           └── AlreadyExists    500 saying something "already exists"
    └── AgentError                 the user's agent CLI could not be run or failed

Messages and ``body`` never hold the token: bodies are trimmed to 300
characters and passed through ``lakeloop.log.redact``.
"""

from __future__ import annotations

BODY_LIMIT = 300


class LakeloopError(Exception):
    """Base of every error lakeloop raises on purpose."""


class StoreError(LakeloopError):
    """A query or insert against the store failed. Messages never hold secrets."""


class StoreUnavailable(StoreError):
    """The store could not be opened (bad path, corrupt file, no credentials)."""


class DeeplakeError(StoreError):
    """A Deeplake API call failed. ``status`` is the HTTP status (None when no
    response arrived); ``body`` is the response body, trimmed and redacted."""

    def __init__(self, message: str, status: int | None = None, body: str = "") -> None:
        from .log import redact

        self.status = status
        self.body = redact(body[:BODY_LIMIT])
        detail = f" (HTTP {status})" if status is not None else ""
        super().__init__(redact(f"{message}{detail}" + (f": {self.body}" if self.body else "")))


class TransientError(DeeplakeError):
    """A failure that a later attempt may not meet (rate limit, server or network trouble)."""


class NetworkError(TransientError):
    """No response: connection refused or reset, DNS, protocol error or timeout."""


class SlotTimeout(TransientError):
    """No request slot (per process or machine-wide) freed up within the wait budget."""


class OutcomeUnknown(TransientError):
    """A non-idempotent request (an INSERT) was sent but its outcome is unknown: the service
    answered 5xx, or the connection failed after the request went out. The caller must look
    up what was applied before sending it again (never retried blindly)."""


class PermanentError(DeeplakeError):
    """A failure retrying cannot fix (bad SQL, auth, payment)."""


class PaymentRequired(PermanentError):
    """HTTP 402: the organisation is out of credits (body mentions ``balance_cents``)."""


class AuthError(PermanentError):
    """HTTP 401 or 403 that is not one of the transient kinds."""


class AlreadyExists(PermanentError):
    """HTTP 500 whose body says a table, index or column already exists (deterministic)."""


class AgentError(LakeloopError):
    """The agent CLI used for the judge or proposer is missing, timed out or failed."""
