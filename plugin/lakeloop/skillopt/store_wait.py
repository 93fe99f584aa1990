"""Waiting for a store that is down, without holding the job runner: one probe, then
``RetryLater`` at the next probe time (docs/jobs.md). Shared by the job kinds that write to the
store from a reaction or an outcome (``skillopt.job``, ``skillopt.outcomes``)."""

from __future__ import annotations

from ..jobs import RetryLater

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ..store.base import Store

#: Longest a reaction waits for a store that is down (seconds after the reaction was received).
STORE_WAIT_S = 480.0
#: Pauses between store probes while waiting (seconds); the last one repeats.
STORE_WAIT_PAUSES_S = (5.0, 10.0, 20.0, 40.0, 60.0)
#: A job is never brought back sooner than this (seconds): a probe time reached a moment early
#: is not probed twice.
MIN_RETRY_S = 1.0


def next_probe_in(reacted_at: float | None, now: float) -> float | None:
    """Seconds from ``now`` to the next store probe of a reaction received at ``reacted_at``
    (epoch seconds), or None when that probe would fall past ``STORE_WAIT_S`` (stop waiting).

    Probes fall at 0, 5, 15, 35, 75, 135, 195, ... seconds after the reaction (the pauses of
    ``STORE_WAIT_PAUSES_S``, the last one repeating); the next one is the first at least
    ``MIN_RETRY_S`` ahead. Without a reaction time there is no wait (None)."""
    if reacted_at is None:
        return None
    elapsed = max(0.0, now - reacted_at)
    at, step = 0.0, 0
    while at < elapsed + MIN_RETRY_S:
        at += STORE_WAIT_PAUSES_S[min(step, len(STORE_WAIT_PAUSES_S) - 1)]
        step += 1
    return None if at > STORE_WAIT_S else at - elapsed


def probe_store(
    open_store: Callable[[], Store],
    probe: Callable[[Store], Any],
    reacted_at: float | None,
    log,
    now: float,
    who: str = "worker",
) -> Store | None:
    """Open the store and run ``probe(store)`` once; returns the open store, or None when the
    store failed for good (402, bad credentials, a failure past the wait: logged as
    ``<who> outcome=store_error``, ``who`` naming the job's log prefix). Raises ``RetryLater``
    (after ``next_probe_in`` seconds) when the store is down or failing and the wait is not over."""
    from ..errors import StoreError, StoreUnavailable, TransientError

    store = None
    try:
        store = open_store()
        probe(store)
        return store
    except StoreError as exc:
        if store is not None:
            store.close()
        after = next_probe_in(reacted_at, now) if isinstance(exc, (StoreUnavailable, TransientError)) else None
        if after is None:
            log.info("%s outcome=store_error: the store did not answer: %s", who, exc)
            return None
        log.warning("%s: the store is not answering (%s); trying again in %.0f s", who, exc, after)
        raise RetryLater(after, f"store not answering: {type(exc).__name__}") from exc
