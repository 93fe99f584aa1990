"""The capture outbox: hooks spool events durably, one drainer per data dir stores them.

Claude Code 2.1.330 SIGTERMs async hooks still running when a ``-p`` turn ends,
so a capture hook does the least work that makes an event durable: one atomic
write of the raw payload bytes, unparsed, to ``<data dir>/outbox/<stem>.json``
(``spool.put_raw``). The entry's name fixes the event's id for good
(``entries.event_id``): it becomes the row's ``id`` and the message's ``id``,
so however often an entry is sent, the stores keep one row for it.

The hook then tries the drain lock (``lock``, an ``flock`` on
``outbox/.drain.lock``): if a drainer already holds it, the hook just returns
(that drainer sees the new entry); if not, it forks a detached drainer that
inherits the held lock (``spool.start_drainer``). The drainer
(``drainer.drain``) runs the reactions of UserPromptSubmit entries first, then
stores entries oldest first in batches, and lingers a few seconds for more
events, watching only the local outbox directory, before it exits.

Entry states are in the file name (``entries``): ``<stem>.json`` waiting,
``<stem>.r.json`` reaction done, ``<stem>.u.json`` / ``<stem>.ru.json`` sent at
least once with an unknown outcome (a drainer died mid-batch, or the store
answered 5xx or dropped the connection after the request went out): only
those are looked up in the store before being sent again. An entry that cannot
be read, parsed or processed moves to ``outbox/failed/`` with one log line
naming the cause; the drain goes on with the next. The outbox is bounded
(``usage``): past ``LAKELOOP_OUTBOX_MAX_MB`` new events are dropped and
counted, and ``failed/`` entries older than 7 days are pruned.

This package is a lower layer: it imports nothing from ``lakeloop.hooks`` or
``lakeloop.cli``; what it must call (parse, react, build rows, open the store)
it gets from its caller (``drainer.Handlers``). This module itself stays
import-light: capture hooks import it on every event.
"""

from __future__ import annotations

import os

#: Name of the subdirectory holding entries that could not be processed.
FAILED = "failed"


def outbox_dir() -> str:
    """``<data dir>/outbox`` as a string (no pathlib: this runs in every capture hook)."""
    from .. import paths

    return os.path.join(paths.data_dir_str(), "outbox")


def pending() -> list[str]:
    """Names of the entries not stored yet (any state), oldest first."""
    try:
        names = os.listdir(outbox_dir())
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(n for n in names if n.endswith(".json") and not n.startswith("."))
