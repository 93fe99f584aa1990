"""How fast a queued job starts, and what the job runner costs once the queue is idle.

    python bench/jobs.py [--runs 10] [--linger 2]

Runs the real queue, runner and job processes (``lakeloop.jobs.submit``, the path every enqueuer
takes) with the tests' ``probe`` kind (``tests/support/jobs_site``: a job that records its start
and returns), in fresh temporary directories, and prints medians and maxima in milliseconds of:

* **cold start**: no runner alive; ``submit`` until the job's process has started the job (the
  runner is started detached, takes the lock it was handed, claims, and starts the job process);
* **warm start**: a runner lingers after its last job; ``submit`` wakes it through its FIFO until
  the job has started;
* **the submit call itself** (what a hook pays: enqueue, then start or wake the runner);
* **idle**: after the last job, how long until no lakeloop process is left (the linger,
  ``--linger`` seconds), and how many processes are left after that (goal 0).
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import time

import common
from common import ROOT


def setup(tmp: str, linger_s: float) -> None:
    """This process's (and its children's) environment (``common.setup``) with the probe kind."""
    common.setup(
        tmp,
        {
            "LAKELOOP_JOBS_LINGER_S": str(linger_s),
            "LAKELOOP_TEST_JOB_KINDS": "1",
            "LAKELOOP_TEST_REPO": str(ROOT),
        },
        pythonpath=[ROOT / "tests" / "support" / "jobs_site"],
        sys_path=[ROOT],
    )


def started(key: str) -> bool:
    """True once the probe job ``key`` has recorded its start."""
    from tests.support.jobs import probe_log

    try:
        lines = probe_log().read_text().splitlines()
    except FileNotFoundError:
        return False
    return any(json.loads(line).get("key") == key and json.loads(line).get("event") == "start" for line in lines)


def await_(cond, timeout_s: float = 30.0, step_s: float = 0.002) -> float:
    """Seconds until ``cond()`` is true (polls every ``step_s``). Raises TimeoutError."""
    t0 = time.perf_counter()
    while not cond():
        if time.perf_counter() - t0 > timeout_s:
            raise TimeoutError("condition not reached")
        time.sleep(step_s)
    return time.perf_counter() - t0


def pids() -> list[int]:
    from tests.support.jobs import lakeloop_pids

    return lakeloop_pids()


def one(key: str, log: logging.Logger) -> tuple[float, float]:
    """``(submit call s, submit-to-start s)`` of one probe job."""
    from lakeloop.jobs import submit

    t0 = time.perf_counter()
    submit("probe", key, {"do": "ok"}, log=log)
    call = time.perf_counter() - t0
    total = call + await_(lambda: started(key))
    return call, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--linger", type=float, default=2.0)
    args = parser.parse_args()
    log = logging.getLogger("lakeloop.bench")
    cold, warm, calls, idle, left = [], [], [], [], []
    with tempfile.TemporaryDirectory(prefix="lakeloop-bench-jobs-") as tmp:
        setup(tmp, args.linger)
        for i in range(args.runs):
            call, total = one(f"cold-{i}", log)  # no runner: the previous one has exited
            cold.append(total)
            calls.append(call)
            time.sleep(0.2)  # the runner now lingers
            call, total = one(f"warm-{i}", log)
            warm.append(total)
            calls.append(call)
            idle.append(await_(lambda: not pids(), timeout_s=args.linger + 30, step_s=0.05))
            time.sleep(0.5)
            left.append(len(pids()))

    def row(name: str, values: list[float]) -> None:
        ms = [v * 1000 for v in values]
        print(f"{name:<50} median {statistics.median(ms):8.1f} ms  max {max(ms):8.1f} ms  (n={len(ms)})")

    row("cold start (no runner): submit -> job start", cold)
    row("warm start (runner lingering): submit -> start", warm)
    row("the submit call (a hook's share)", calls)
    row(f"last job started -> no process left (linger {args.linger:g} s)", idle)
    print(f"processes left after that: {max(left)} (max over {len(left)} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
