"""The publish race check shared by everything that publishes a team skill version from a job:
the optimizer (``skillopt.worker``) and the automatic rollback (``skillopt.rollback``).

Two machines may publish the same version number at the same moment; ``store.base.winner_key``
decides which row counts (highest version, then earliest ``created_at``, then smaller id). After
inserting its row, a publisher reads the skill's rows again over the store's visibility wait and
learns whether it lost (``winner_after_insert``). What a loser does next is its caller's rule.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from ..store.base import SkillRow, Store


def winner_after_insert(
    store: Store,
    new: SkillRow,
    wait_s: float,
    reads: int,
    sleep: Callable[[float], None],
    log: logging.Logger,
) -> SkillRow | None:
    """After inserting ``new``: the skill's current version when another row of the same version
    beats ``new`` (``winner_key``: earlier created_at, then smaller id), else None.

    The rows are read ``reads`` times spread over ``wait_s`` seconds, the store's visibility wait
    (reads at 0, wait/(n-1), ..., wait seconds after the insert; once when the wait is 0, as for
    SQLite): a rival's insert may not be visible yet. ``sleep`` takes seconds.
    Sound when every rival row is visible within the
    wait after it was inserted and the rivals' clocks agree: the loser (later created_at)
    inserted after the winner, give or take the difference of their insert latencies and
    clock skew, so its last read, a full wait after its own insert, sees the winner.
    Residual risk: a lag longer than the wait, or skew plus latency difference beyond it,
    can leave the loser unaware (it logs "published"); readers show the winner, the loser's
    edits stay only in its superseded row (``lakeloop skills history`` marks it as the loser)
    and the winner's log names the rows it won over. A failed read ends the check (logged,
    None). Raises nothing."""
    from ..errors import StoreError
    from ..store.base import winner_key
    from .versions import team_rows

    wait = max(0.0, wait_s)
    reads = max(1, reads) if wait > 0 else 1
    seen_own = False
    rivals: list[SkillRow] = []
    for i in range(reads):
        if i:
            sleep(wait / (reads - 1))
        try:
            rows = team_rows(store, new.name, new.author)
        except StoreError as exc:
            log.warning("publish race check of %s v%d failed: %s", new.ref, new.version, exc)
            return None
        seen_own = seen_own or any(r.id == new.id for r in rows)
        rivals = [r for r in rows if r.version == new.version and r.id != new.id]
        if any(winner_key(r) < winner_key(new) for r in rivals):
            return min(rows, key=winner_key)
    if rivals:  # we won; each loser settles on top of us (if it sees us in time)
        log.info(
            "publish race: %s v%d (%s) won over row(s) %s",
            new.ref,
            new.version,
            new.id,
            ", ".join(r.id for r in rivals),
        )
    if not seen_own:
        log.warning(
            "publish race check: %s v%d (%s) not visible after %d reads over %.1f s",
            new.ref,
            new.version,
            new.id,
            reads,
            wait,
        )
    return None
