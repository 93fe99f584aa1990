"""Deeplake HTTP answers as lakeloop errors: the one mapping both clients use.

``classify(status, body, content_type, retry_auth)`` gives the ``DeeplakeError`` for a
response (None for 2xx) and ``retry_after_s(header)`` the wait a ``Retry-After`` asks for;
``backoff_s(attempt, ...)`` is the retry backoff of seed 003. Standard library only, so the
light client (``lakeloop.deeplake.lite``) imports it without httpx.
"""

from __future__ import annotations

import time

from ..errors import (
    AlreadyExists,
    AuthError,
    DeeplakeError,
    OutcomeUnknown,
    PaymentRequired,
    PermanentError,
    TransientError,
)

PAYMENT_NOTICE = (
    "lakeloop: your Deeplake organisation is out of credits (HTTP 402), so sessions are not being "
    "saved to the shared memory. Add credits in the Deeplake console; lakeloop resumes by itself."
)

#: Statuses retried with backoff (seed 003; docs/deeplake-store.md "Failures, retries, backoff").
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


def backoff_s(attempt: int, base_s: float, factor: float, jitter_s: float, rand: float) -> float:
    """Seconds to wait before retry ``attempt`` (1-based): ``base_s`` x ``factor``^(attempt-1)
    plus ``rand`` (in [0, 1)) x ``jitter_s`` (seed 003: 0.5 s, x2, up to 0.2 s jitter)."""
    return base_s * factor ** (attempt - 1) + rand * jitter_s


def _looks_html(body: str, content_type: str) -> bool:
    head = body.lstrip()[:15].lower()
    return "html" in content_type.lower() or head.startswith(("<!doctype", "<html", "<"))


def classify(status: int, body: str, content_type: str = "", retry_auth: bool = False) -> DeeplakeError | None:
    """The error for a response, or None for success (2xx). Pure: no I/O."""
    if 200 <= status < 300:
        return None
    if status == 402:
        return PaymentRequired("Deeplake organisation is out of credits", status, body)
    if status in (401, 403):
        transient = retry_auth and (status == 401 or not body.strip() or _looks_html(body, content_type))
        cls = TransientError if transient else AuthError
        return cls("Deeplake refused the credentials", status, body)
    if status == 500 and "already exists" in body.lower():
        return AlreadyExists("Deeplake says it already exists", status, body)
    if status in RETRYABLE_STATUS:
        return TransientError("Deeplake is temporarily failing", status, body)
    return PermanentError("Deeplake rejected the request", status, body)


def retry_after_s(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def stop_or_retry(
    error: DeeplakeError,
    attempt: int,
    max_retries: int,
    *,
    idempotent: bool,
    maybe_applied: bool,
    on_payment_required=None,
    log=None,
    what: str = "",
) -> None:
    """The retry rule both clients follow after a failed attempt (``attempt`` retries done so
    far): raise ``OutcomeUnknown`` when a non-idempotent statement may have been applied,
    tell the user once on 402, raise ``error`` when it is not transient or the retries are spent
    (seed 003); return when another attempt is due. ``log`` (optional) gets a line for each
    ending, naming ``what`` (method and path)."""
    if not idempotent and maybe_applied:
        if log is not None:
            log.info("deeplake %s: %s after the request was sent: outcome unknown, not retried blindly", what, error)
        raise OutcomeUnknown(f"outcome unknown ({error})", error.status)
    if isinstance(error, PaymentRequired) and on_payment_required is not None:
        on_payment_required()
    if not isinstance(error, TransientError) or attempt >= max_retries:
        if log is not None:
            log.debug("deeplake %s failed for good after %d attempt(s): %s", what, attempt + 1, error)
        raise error


def retry_wait_s(attempt: int, retry_after: str | None, cap_s: float, backoff) -> float:
    """Seconds before retry ``attempt``: a ``Retry-After`` header's wait up to ``cap_s``, else
    ``backoff(attempt)`` (exponential backoff with jitter, seed 003)."""
    hinted = retry_after_s(retry_after)
    return min(hinted, cap_s) if hinted is not None else backoff(attempt)
