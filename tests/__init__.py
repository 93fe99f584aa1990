"""lakeloop's test suite: one directory per package of ``plugin/lakeloop`` (``capture/``, ``cli/``,
``deeplake/``, ``hooks/``, ``memory/``, ``outbox/``, ``redact/``, ``skillopt/``, ``store/``),
``e2e/`` for the real-Claude-Code and cross-process end-to-end tests, ``project/`` for the
package-wide rules, ``support/`` for the shared helpers and ``data/`` for fixed inputs.

Every directory is a package (an ``__init__.py`` each), so two test files may share a basename in
different directories (``tests.store.test_deeplake`` and ``tests.cli.test_deeplake``), and pytest's
default import mode puts the repository root on ``sys.path``: ``tests.support`` imports the same
way under ``pytest``, ``python -m pytest`` and ``python -m tests.support.claude_code``.
"""
