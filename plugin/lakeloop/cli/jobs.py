"""``lakeloop jobs [--json]``, ``lakeloop jobs retry ID``, ``lakeloop jobs drop ID``: the local
job queue (``lakeloop.jobs``, docs/jobs.md).

Human output, one job per line, running first, then queued, failed and done (done only within
the last 24 hours)::

    ID  KIND       KEY                 STATE   AGE  ATTEMPTS  LAST ERROR
    7   summarize  session:5b0c9a51-…  queued  3m   1         RuntimeError: store down

``--json``: a list of ``{"id", "kind", "key", "state", "attempts", "age_s", "last_error"}``
(``jobs.queue.listing``). ``retry ID``: a failed or queued job is queued again, due now, with
its attempts reset, and a runner is started for it. ``drop ID``: a queued, done or failed job is
deleted; a running one is refused. An unknown ID, or a state that forbids the action, is refused
with exit 2 (``jobs.queue.JobRefused``).

Internal, not listed: ``jobs run --lock-fd N`` (the detached runner, holding the runner lock
through descriptor N) and ``jobs exec ID TOKEN`` (one job's process, started by the runner). Both
take the table of kinds from ``cli.job_kinds.kinds()``.
"""

from __future__ import annotations

import argparse
import os

from ._output import emit_json, table, terminal_width

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..jobs.kinds import Kind


def add_parser(sub, formatter_class=argparse.HelpFormatter) -> None:
    """Add ``jobs`` and its subcommands to ``sub`` (the top-level subparsers action).
    ``args.jobs_command`` is the subcommand (None means list)."""
    jobs = sub.add_parser(
        "jobs",
        help="background jobs: queued, running, failed, recently done; retry or drop one",
        description="The local queue of background jobs. Without a subcommand: list them.",
        formatter_class=formatter_class,
    )
    jobs.add_argument("--json", action="store_true", help="print JSON")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", metavar="SUBCOMMAND", title="subcommands")
    retry = jobs_sub.add_parser("retry", help="queue a failed job again, now, with fresh attempts")
    retry.add_argument("id", type=int, help="the job's ID (`lakeloop jobs` lists them)")
    drop = jobs_sub.add_parser("drop", help="delete a job that is not running")
    drop.add_argument("id", type=int, help="the job's ID (`lakeloop jobs` lists them)")
    runner = jobs_sub.add_parser("run")  # internal: the detached runner (no help, so never listed)
    runner.add_argument("--lock-fd", type=int, required=True)
    execute = jobs_sub.add_parser("exec")  # internal: one job's process, started by the runner
    execute.add_argument("id", type=int)
    execute.add_argument("token")


def _kinds() -> dict[str, Kind]:
    from .job_kinds import kinds

    return kinds()


def age(seconds: int) -> str:
    """``seconds`` as ``45s``, ``12m``, ``5h`` or ``3d``."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def run(args) -> int:
    """Dispatch ``lakeloop jobs``. Raises JobRefused (exit 2) and JobsUnavailable (exit 1)."""
    from ..log import setup

    command = getattr(args, "jobs_command", None)
    if command == "run":
        from ..jobs.runner import Runner

        return Runner(_kinds(), args.lock_fd, setup("jobs")).run()
    if command == "exec":
        from ..jobs.runner import execute

        return execute(args.id, args.token, _kinds(), setup("jobs"))
    from .. import paths
    from ..jobs import db, queue

    if command is None and not os.path.exists(paths.jobs_db()):
        rows: list[dict] = []  # nothing was ever queued: do not create the queue to say so
    else:
        conn = db.connect()
        try:
            if command == "retry":
                job = queue.retry(conn, args.id)
                from ..jobs.wake import ensure_running

                started = ensure_running(setup("cli"))
                print(f"job {job.id} ({_label(job.kind, job.key)}) queued again; runner {started}")
                return 0
            if command == "drop":
                job = queue.drop(conn, args.id)
                print(f"job {job.id} ({_label(job.kind, job.key)}) dropped")
                return 0
            rows = queue.listing(conn)
        finally:
            conn.close()
    if args.json:
        emit_json(rows)
        return 0
    if not rows:
        print("no jobs")
        return 0
    table(
        ["ID", "KIND", "KEY", "STATE", "AGE", "ATTEMPTS", "LAST ERROR"],
        [[r["id"], r["kind"], r["key"], r["state"], age(r["age_s"]), r["attempts"], r["last_error"]] for r in rows],
        width=terminal_width(),
    )
    return 0


def _label(kind: str, key: str) -> str:
    from ._output import one_line

    return one_line(f"{kind} {key}")
