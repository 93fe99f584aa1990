"""Driving the real outbox drainer in process, with faults injected around the real capture handlers.

* ``Recorder(store_errors=(), react_error=None)``: ``Handlers`` around ``lakeloop.capture.drain``'s
  real ones on the real embedded store that record every store write (``("store", [message types],
  unsure)``) and reaction (``("react", prompt, event_id)``) in ``.calls``. Each store write first
  takes the next of ``store_errors``: ``None`` writes normally, an exception is raised instead of
  writing, an ``(exception, ...)`` tuple writes and then raises (the outcome is unknown after a commit).
  ``react_error`` is raised by every reaction.
* ``drainer(recorder, **kw)``: a ``Drainer`` over it that does not linger and never sleeps (``kw``
  overrides ``Drainer``'s keywords).
* ``stored_rows()``: ``(id, message text)`` of every sessions row of the embedded store, oldest first.
* ``failed_names()``: the names of the entries set aside in ``outbox/failed``, sorted.
* ``stop_payload(text, session=SID)``: a recorded Stop payload whose last answer is ``text``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from lakeloop import outbox, paths
from lakeloop.capture import drain as capture
from lakeloop.outbox.drainer import Drainer, Handlers
from lakeloop.store.embedded import EmbeddedStore
from tests.support.payloads import first_payload

LOG = logging.getLogger("lakeloop-tests")
SID = "e8f2d602-bc51-4170-b4d4-df65e830a9f4"


def stored_rows() -> list:
    """``(id, message text)`` of the embedded store's sessions rows, oldest first ([] without a store)."""
    if not paths.store_file().exists():
        return []
    with EmbeddedStore(paths.store_file()) as store:
        return [r for r in store._run("SELECT id, message FROM sessions ORDER BY rowid")]


def failed_names() -> list[str]:
    """Names of the entries in ``outbox/failed``, sorted ([] without the directory)."""
    d = Path(outbox.outbox_dir(), "failed")
    return sorted(p.name for p in d.iterdir()) if d.is_dir() else []


def stop_payload(text: str, session: str = SID) -> dict:
    """A recorded Stop payload of ``session`` whose last assistant message is ``text``."""
    p = first_payload("Stop")
    p["last_assistant_message"] = text
    p["session_id"] = session
    return p


class Recorder:
    """Handlers around the real capture handlers that record calls and can inject faults."""

    def __init__(self, store_errors=(), react_error=None):
        self.calls: list[tuple] = []
        self.store_errors = list(store_errors)
        self.react_error = react_error
        self.real = capture.handlers(LOG)
        self.store = None

    def handlers(self) -> Handlers:
        """The ``Handlers`` to give a ``Drainer``."""
        rec = self

        class Store:
            def __init__(self):
                self.inner = EmbeddedStore(paths.store_file())

            def append_session_rows(self, rows, unsure=False):
                rec.calls.append(("store", [r.message.get("type") for r in rows], unsure))
                if rec.store_errors:
                    error = rec.store_errors.pop(0)
                    if error is not None:
                        if isinstance(error, tuple):  # (error, apply first): outcome-unknown after commit
                            self.inner.append_session_rows(rows)
                            error = error[0]
                        raise error
                self.inner.append_session_rows(rows, unsure)

            def close(self):
                self.inner.close()

        def react(payload, received, event_id):
            rec.calls.append(("react", payload.get("prompt"), event_id))
            if rec.react_error:
                raise rec.react_error
            return self.real.react(payload, received, event_id)

        return Handlers(parse=self.real.parse, react=react, rows=self.real.rows, open_store=Store)


def drainer(rec: Recorder, **kw) -> Drainer:
    """A ``Drainer`` over ``rec``'s handlers: no linger, no sleep, unless ``kw`` says otherwise."""
    kw.setdefault("linger_s", 0.0)
    kw.setdefault("sleep", lambda s: None)
    return Drainer(rec.handlers(), LOG, **kw)
