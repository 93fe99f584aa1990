"""Outbox entry names: an event's receipt time, its id and its state, all in the file name.

``<received_ns:020d>-<pid>-<8 hex>-<HookEvent>[.<flags>].json``: the part before
the first dot is the *stem*, fixed when the hook spools the event; ``flags`` is
a sorted subset of ``r`` (the UserPromptSubmit reaction has run) and ``u``
(sent at least once with an unknown outcome). State changes are renames, which
are atomic, so a process dying between any two lines leaves a valid state.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

#: The namespace of event ids: ``uuid5(EVENT_NAMESPACE, stem)``.
EVENT_NAMESPACE = uuid.UUID("6f1c2a4e-2b7d-5b1e-9a51-0d1a7e5c0b11")
REACTED = "r"
UNSURE = "u"
SUFFIX = ".json"


def event_id(stem: str) -> str:
    """The event's id (a UUID string) for an entry stem: the same for every drain of it."""
    return str(uuid.uuid5(EVENT_NAMESPACE, stem))


@dataclass
class Entry:
    """One spooled event. ``name`` is its current file name in ``directory``."""

    directory: str
    name: str
    stem: str
    flags: str
    received_ns: int
    event: str

    @property
    def path(self) -> str:
        """Full path of the entry file."""
        return os.path.join(self.directory, self.name)

    @property
    def event_id(self) -> str:
        """The event's id (see ``event_id``)."""
        return event_id(self.stem)

    def has(self, flag: str) -> bool:
        """True when ``flag`` is set."""
        return flag in self.flags

    def set_flags(self, add: str = "", remove: str = "") -> bool:
        """Rename the entry to its new state. Returns False when the file is gone.
        Raises OSError for other failures."""
        flags = "".join(sorted((set(self.flags) | set(add)) - set(remove)))
        if flags == self.flags:
            return True
        name = f"{self.stem}.{flags}{SUFFIX}" if flags else f"{self.stem}{SUFFIX}"
        try:
            os.rename(self.path, os.path.join(self.directory, name))
        except FileNotFoundError:
            return False
        self.name, self.flags = name, flags
        return True


def parse(directory: str, name: str) -> Entry:
    """The ``Entry`` for file ``name``. Raises ValueError when the name is not an entry's."""
    if not name.endswith(SUFFIX) or name.startswith("."):
        raise ValueError(f"not an outbox entry: {name[:80]!r}")
    stem, _, flags = name[: -len(SUFFIX)].partition(".")
    stamp, pid, rand, event = stem.split("-", 3)
    if not (stamp.isdigit() and pid.isdigit() and rand and event.isalpha()) or set(flags) - {REACTED, UNSURE}:
        raise ValueError(f"not an outbox entry: {name[:80]!r}")
    return Entry(directory, name, stem, flags, int(stamp), event)


def scan(directory: str) -> tuple[list[Entry], list[str]]:
    """``(entries oldest first, names that look like entries but do not parse)``."""
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return [], []
    entries, bad = [], []
    for name in names:
        if not name.endswith(SUFFIX) or name.startswith("."):
            continue
        try:
            entries.append(parse(directory, name))
        except ValueError:
            bad.append(name)
    entries.sort(key=lambda e: e.stem)
    return entries, bad
