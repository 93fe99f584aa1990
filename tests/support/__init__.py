"""Helpers shared by the tests, one module per concern (tests import them from here; a test module
never imports another test module or ``conftest``: tests/project/test_suite_imports.py).

* ``repo``: where the checkout's parts are (``REPO``, ``PLUGIN_SRC``, ``HOOK_RUN``, ...).
* ``payloads``: the recorded Claude Code hook payloads (``recorded_payloads``, ``first_payload``).
* ``hooks``: THE hook launcher (``run_hook``; ``run_quiet_hook``, ``run_pretooluse``).
* ``capture``: capture events through the hooks and read back what the embedded store holds.
* ``logs``: ``log_text()``, the test's log file. ``waiting``: ``wait_until``. ``processes``:
  ``run_together`` (racing processes).
* ``outbox``: the drainer in process with injected faults. ``stores``: sessions rows to insert.
  ``skills``: the pull manifest. ``optimizer``: the skill optimizer's worker in process.
* ``secret_corpus``, ``credential_attacks``: the hostile corpora shared by several test files.
* ``cli``: the ``lakeloop`` command as a process. ``memory_answers``: what the agent reads after a
  memory-path answer. ``import_graph``: the package's import graph.
* ``isolation``: what keeps the tests away from the user's real setup (``tests/conftest.py``).
* Stand-ins: ``postgres`` (a throwaway PostgreSQL), ``deeplake_standin`` (the Deeplake tables API),
  ``fake_anthropic`` (the Messages API), ``claude_code`` (the pinned Claude Code binary).
"""
