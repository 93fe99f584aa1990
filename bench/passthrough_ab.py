"""A/B wall time of the PreToolUse passthrough: this tree against an earlier commit.

    python bench/passthrough_ab.py [--base 77768d4] [--runs 200] [--python PATH]

Exports ``--base`` with ``git archive`` into a temporary directory, then runs the two
``hooks/run PreToolUse`` launchers alternately (A, B, A, B, ...) on the same recorded
non-memory payloads (a Bash call and a Read), in one fresh HOME each, so machine noise falls
on both alike. Prints each side's median and p90 in milliseconds and B/A, for the memory path's goal
that tool calls off the memory path keep today's cost (within 10 %).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAYLOADS = ROOT / "plugin" / "lakeloop" / "data" / "claude-code-2.1.330-hook-payloads.jsonl"


def _payloads(expansion: bool = False) -> list[bytes]:
    """The recorded non-memory PreToolUse payloads; with ``expansion``, a Bash call whose command
    has shell expansion (``ls *.py $HOME``), which the memory path checks in full."""
    out = []
    for line in PAYLOADS.read_text().splitlines():
        p = json.loads(line)
        if p["hook_event_name"] == "PreToolUse" and p.get("tool_name") in ("Bash", "Read"):
            if expansion and p["tool_name"] == "Bash":
                p["tool_input"]["command"] = "ls *.py $HOME | head"
            out.append(json.dumps(p).encode())
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="77768d4", help="commit to compare against")
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--expansion", action="store_true", help="a Bash command with * and $ (checked in full)")
    args = ap.parse_args()
    payloads = _payloads(args.expansion)
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp, "base")
        base.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.base], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        sides = {"A (base)": base, "B (this tree)": ROOT}
        times: dict[str, list[float]] = {k: [] for k in sides}
        envs = {}
        for k in sides:
            home = Path(tmp, k.split()[0], "home")
            home.mkdir(parents=True)
            env = {x: v for x, v in os.environ.items() if not x.startswith(("LAKELOOP_", "XDG_", "CLAUDE_"))}
            env.pop("PYTHONDONTWRITEBYTECODE", None)  # both sides run from Python's bytecode cache
            env.update(HOME=str(home), LAKELOOP_PYTHON=args.python, CLAUDE_PLUGIN_DATA=str(home / "plugin-data"))
            envs[k] = env
        for i in range(args.runs + 4):
            for k, root in sides.items():
                payload = payloads[i % len(payloads)]
                t0 = time.perf_counter()
                proc = subprocess.run(
                    [str(root / "hooks" / "run"), "PreToolUse"], input=payload, env=envs[k], capture_output=True
                )
                elapsed = (time.perf_counter() - t0) * 1000
                if proc.stdout:
                    raise SystemExit(f"{k}: passthrough printed {proc.stdout[:200]!r}")
                if i >= 4:
                    times[k].append(elapsed)
        meds = {}
        for k, t in times.items():
            meds[k] = statistics.median(t)
            print(f"{k:<16} median {meds[k]:6.2f} ms  p90 {statistics.quantiles(t, n=10)[-1]:6.2f} ms  (n={len(t)})")
        a, b = meds["A (base)"], meds["B (this tree)"]
        print(f"B/A = {b / a:.3f}  ({(b / a - 1) * 100:+.1f} %; goal: within +10 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
