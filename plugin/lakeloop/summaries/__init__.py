"""Session summaries: a condensed record of each captured session in the team memory
(``/summaries/<user>/<session id>.md``), made by the ``summarize`` job. docs/summaries.md.

* ``trigger``: the enqueue side (the drainer after each stored batch, the SessionEnd hook);
* ``state``: local counters per session and the daily ledger of model runs (the jobs database);
* ``transcript``, ``prompts``, ``check``: the bounded input, the framed prompt, the answer's check
  and the file we assemble around it;
* ``job``: the ``summarize`` job kind itself.

This module is import-light (hooks import it): constants, ``path_for`` and ``merge_payloads``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from typing import Any

#: The sections of a summary, in order: the model writes exactly these ``## `` headings.
HEADINGS = (
    "What Happened",
    "People",
    "Entities",
    "Decisions & Reasoning",
    "Key Facts",
    "Files Modified",
    "Open Questions / TODO",
    "Next Steps",
)
#: A summary file (our header and the model's sections) is shorter than this, in characters.
MAX_SUMMARY_CHARS = 4000
#: The job kind's name and the prefix of its dedupe key (``session:<session id>``).
KIND = "summarize"
KEY_PREFIX = "session:"
#: Where summaries live in the memory tree.
PREFIX = "/summaries/"


def path_for(user: str, session_id: str) -> str:
    """The memory path of a session's summary: ``/summaries/<user>/<session id>.md``, both parts
    through ``identity.path_component`` (a value that is not a safe path component becomes a
    hash, so the path never leaves ``/summaries/<one directory>/``). Never raises for ``str``."""
    from ..identity import path_component

    return f"{PREFIX}{path_component(user)}/{path_component(session_id)}.md"


def merge_payloads(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """The payload of one ``summarize`` job when a second enqueue of the same session meets a
    queued or running one: ``a`` the payload already queued, ``b`` the new one. The newer values
    win key by key (``b`` over ``a``), except ``final``, which stays true once either is (a
    session's end is never forgotten by a later periodic trigger). Never raises for dicts."""
    merged = {**a, **b}
    merged["final"] = bool(a.get("final")) or bool(b.get("final"))
    return merged
