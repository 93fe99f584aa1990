"""Test-only: with ``LAKELOOP_TEST_SUMMARY_HOLD=<marker file>`` set (``tests.support.summaries.
summariser(..., hold=...)``) and this directory on ``PYTHONPATH``, the first summary job to write
its row stops right after the store write, before it records anything locally or reports its
outcome: it creates the marker file, then sleeps until killed. Later jobs (the marker exists) run
normally. That is where a killed runner hurts most: the row is in the store, the queue still says
running. Nothing happens without the variable."""

import os

if os.environ.get("LAKELOOP_TEST_SUMMARY_HOLD"):
    import time

    import lakeloop.summaries.state as _state

    _real = _state.State.save_summary

    def _save_summary(self, *args, **kw):
        try:
            fd = os.open(os.environ["LAKELOOP_TEST_SUMMARY_HOLD"], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return _real(self, *args, **kw)
        os.close(fd)
        while True:
            time.sleep(60)

    _state.State.save_summary = _save_summary
