"""Capture hooks (UserPromptSubmit, PostToolUse, Stop, SubagentStop): the hook-process step.

``spool`` only writes the raw payload to the outbox, with the session's settings header (no
JSON parsing: json and its regular expressions are a fifth of a hook's start-up), and starts a
detached drainer unless one already runs (``lakeloop.outbox``). The drainer runs the capture
pipeline (``lakeloop.capture``: parse, reaction, rows, store), imported only in the forked
child, never in the hook process. Skipped when ``LAKELOOP_CAPTURE=0`` (UserPromptSubmit is
still spooled, for its reaction) or inside the skill optimizer's own processes (the judge and
proposer calls are never captured).
"""

from __future__ import annotations

from .. import config

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    import logging


def spool(event: str, data: bytes, log: logging.Logger, agent: str = "claude") -> None:
    """Hook fast path: spool the raw payload bytes and start a drainer unless one runs
    (or the store is pausing after the last drainer gave up on it; a UserPromptSubmit
    starts one anyway, for its reaction). UserPromptSubmit is spooled even with
    capture off (its reaction still counts). ``agent``: the hook command's agent argument
    (``lakeloop.agents`` name), recorded in the entry for the drainer. A full outbox drops the
    event with one log line; raises OSError when the outbox cannot be written."""
    if config.in_worker():
        return
    if event != "UserPromptSubmit" and not config.capture_enabled():
        return
    from ..outbox import spool as outbox_spool

    try:
        outbox_spool.put_raw(event, data, agent=agent)
    except outbox_spool.OutboxFull:
        from ..outbox.usage import record_drop

        record_drop(event, log, config.outbox_max_mb())
        return
    if event != "UserPromptSubmit" and outbox_spool.store_paused():
        from ..outbox.usage import maybe_refresh

        maybe_refresh(config.outbox_max_mb() << 20, len(data))  # no drainer runs: keep the cap enforced
        return
    if outbox_spool.start_drainer(run_drainer) == "inline":
        from ..capture.drain import drain

        drain(log, linger_s=0.0)


def run_drainer(lock_fd: int) -> None:
    """Body of the drainer ``spool`` forks (``lakeloop.capture.drain.drainer_child``), imported
    in the child so the hook process loads none of the pipeline. ``lock_fd``: the drain lock."""
    from ..capture.drain import drainer_child

    drainer_child(lock_fd)
