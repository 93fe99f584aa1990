"""Test-only: adds the ``probe`` job kind (``tests.support.jobs.probe_kind``) to the table of kinds
(``lakeloop.cli.job_kinds.kinds``) of every Python process started with this directory on
``PYTHONPATH`` and ``LAKELOOP_TEST_JOB_KINDS=1`` (``tests.support.jobs.use_probe_kinds`` sets both),
so the real job runner and its job processes can run it. Nothing happens without that variable."""

import os

if os.environ.get("LAKELOOP_TEST_JOB_KINDS") == "1":
    import sys

    _repo = os.environ.get("LAKELOOP_TEST_REPO", "")
    if _repo and _repo not in sys.path:
        sys.path.append(_repo)
    import lakeloop.cli.job_kinds as _table

    _real = _table.kinds

    def _kinds():
        from tests.support.jobs import probe_kind

        try:
            table = _real()
        except Exception:  # another capability's kind not importable yet: the probe still runs
            table = {}
        table["probe"] = probe_kind()
        return table

    _table.kinds = _kinds
