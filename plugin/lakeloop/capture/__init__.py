"""The capture pipeline: what the detached drainer does with each outbox entry.

A capture hook (``lakeloop.hooks.capture``) only spools the raw payload bytes with its session's
settings header (``lakeloop.outbox.spool``) and starts a drainer; everything else runs here, in
the drainer (``lakeloop.outbox.drainer`` is the generic loop, these modules are its ``Handlers``):

1. ``parse``: the entry's settings header (``EntrySettings``: what the capturing session set,
   never the drainer's own environment) and the payload as bounded JSON.
2. ``react``: a UserPromptSubmit while the session has an open judgment window is a reaction to
   an armed team skill: it spends the window and starts the skill optimizer's worker.
3. ``rows``: the payload becomes 0 or 1 sessions row (capture off, no session id, an excluded
   project: none), its ``<private>`` spans hidden and secrets redacted (``lakeloop.redact``)
   before any store sees it, filed under the capturing session's identity.
4. the drainer writes the rows to the store (``lakeloop.store``).

``drain`` builds those handlers and holds the entry points: ``drainer_child`` (the forked
drainer's body) and ``drain`` (``lakeloop flush``, platforms without fork).

This package is imported by the drainer and the CLI, never on a hook's fast path; it imports
nothing from ``lakeloop.hooks`` or ``lakeloop.cli``. Importing the package itself loads nothing.
"""
