"""What reading skill outcomes costs: ``lakeloop skills stats`` and the rollback decision on a
skill with many recorded uses (embedded store).

    python bench/skill_outcomes.py [--outcomes 10000] [--versions 4] [--runs 5]

In fresh temporary directories it publishes one team skill with ``--versions`` versions and
stores ``--outcomes`` outcome rows for it, spread evenly over the versions and, within each
version, over the four verdicts, the way the ``outcomes`` job stores them (one
``put_memory_doc`` each). Then it prints medians and maxima over ``--runs`` runs, in milliseconds, of:

* **stats CLI**: ``lakeloop skills stats REF --json`` as a subprocess (interpreter start-up
  included), the command a person runs; the goal is under 1,000 ms for 10,000 outcomes;
* **stats in-process**: ``Store.outcome_uses`` (one query) plus ``stats.per_use``;
* **rollback decision**: ``skillopt.rollback.decide_all`` for the skill (two queries and the
  one-sided Fisher test; the seeded versions do not differ, so nothing is published).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import setup

REF = "db-migrate--alice"
VERDICTS = ("failure", "success", "success", "success", "unclear", "no_pushback")


def seed(tmp: str, outcomes: int, versions: int, body: Callable[[int], str] | None = None) -> None:
    """The skill's versions (pushed as a person does) and ``outcomes`` outcome rows. ``body(v)``:
    the ``SKILL.md`` text of version ``v`` (default: a one-step skill naming its version)."""
    from lakeloop.skillopt import outcomes as rows
    from lakeloop.skillopt.publish import push
    from lakeloop.store import open_store

    folder = Path(tmp) / "authoring" / "db-migrate"
    folder.mkdir(parents=True)
    for v in range(1, versions + 1):
        text = body(v) if body else f"---\nname: db-migrate\n---\n1. Run the migration (v{v}).\n"
        (folder / "SKILL.md").write_text(text)
        push(folder, name="db-migrate", author="alice")
    with open_store() as store:
        for i in range(outcomes):
            verdict = VERDICTS[i % len(VERDICTS)]
            day = 1 + (i % 28)
            row = rows.outcome_row(
                REF,
                1 + (i // len(VERDICTS)) % versions,
                verdict,
                f"{i:032x}",
                f"2026-11-{day:02d}T10:00:00.000000Z",
                "closed" if verdict == "no_pushback" else f"event-{i}",
                "alice",
                "claude_code",
                session=f"session-{i % 300}",
            )
            store.put_memory_doc(row)


def timed(fn, runs: int) -> list[float]:
    """Milliseconds of ``runs`` calls of ``fn``."""
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outcomes", type=int, default=10_000)
    parser.add_argument("--versions", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lakeloop-bench-") as tmp:
        setup(tmp, {"LAKELOOP_USER": "alice"})
        started = time.perf_counter()
        seed(tmp, args.outcomes, args.versions)
        print(f"seeded {args.outcomes} outcomes over {args.versions} versions in {time.perf_counter() - started:.1f} s")

        from lakeloop.skillopt import rollback, stats
        from lakeloop.store import open_store

        log = logging.getLogger("lakeloop-bench")

        def cli() -> None:
            cmd = [sys.executable, "-m", "lakeloop.cli.main", "skills", "stats", REF, "--json"]
            subprocess.run(cmd, check=True, capture_output=True)

        def in_process() -> None:
            with open_store() as store:
                stats.per_use(store.outcome_uses(REF))

        def decision() -> None:
            with open_store() as store:
                rollback.decide_all(store, [REF], False, log)

        for name, fn in (("stats CLI", cli), ("stats in-process", in_process), ("rollback decision", decision)):
            ms = timed(fn, args.runs)
            print(f"{name:18s} median {statistics.median(ms):7.1f} ms   max {max(ms):7.1f} ms   (runs {args.runs})")


if __name__ == "__main__":
    main()
