"""What secret redaction costs the drainer, and what it hides in ordinary text.

    python bench/redaction.py [--iterations 200] [--big-kb 100]
    python bench/redaction.py --false-positives [--show 50] [--files LIST]
    python bench/redaction.py --list-files

Default mode: CPU milliseconds per event (``time.process_time``, many iterations) of
``lakeloop.capture.rows.event_rows`` (payload -> sessions row, in the drainer) with
``LAKELOOP_REDACT=1`` and ``=0``, for

* every capture payload recorded from Claude Code 2.1.330
  (plugin/lakeloop/data/claude-code-2.1.330-hook-payloads.jsonl), and
* a PostToolUse (Bash) whose output is ``--big-kb`` KB of this repository's source text
  (ordinary code, so the rules run their normal course: few matches);

and the one-time cost of building the rules in a fresh process: cold (importing
detect-secrets, which imports ``requests``) and warm (its regexes read from the cache in the
data dir), in CPU ms of a child process.

``--false-positives``: every file of this repository's plugin/**/*.py, tests/**/*.py, bench/*.py,
README.md and docs/**/*.md but the secret and attack corpora (``CORPORA``), as the output of a
Read tool call (one file = one text, JSON text like a stored tool_response), through the
scanner: redactions per file and per MB, and each redaction's kind with a masked sample (first
3 characters of the redacted value, and its length). ``--files LIST`` measures the files named
in LIST instead (one path relative to the repository per line, as ``--list-files`` prints
them): the same set before and after a change.

State (the pattern cache) lives in a temporary data directory.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugin"))
PAYLOADS = ROOT / "plugin" / "lakeloop" / "data" / "claude-code-2.1.330-hook-payloads.jsonl"
CAPTURED = ("UserPromptSubmit", "PostToolUse", "Stop", "SubagentStop")


#: Files that hold secrets or attacks on purpose (test corpora): every redaction in them is
#: meant, so they are not ordinary text. A test file whose strings are credentials or hostile
#: input to redaction belongs here, relative to the repository.
CORPORA = (
    "tests/redact/test_secrets.py",
    "tests/redact/test_credentials.py",
    "tests/support/secret_corpus.py",
)


def corpus_files() -> list[Path]:
    """The repository's own ordinary text (see the module docstring)."""
    files = set(ROOT.glob("plugin/**/*.py")) | set(ROOT.glob("bench/*.py")) | {ROOT / "README.md"}
    files |= set(ROOT.glob("tests/**/*.py")) | set(ROOT.glob("docs/**/*.md"))
    return sorted(
        p for p in files if p.is_file() and ".egg-info" not in str(p) and str(p.relative_to(ROOT)) not in CORPORA
    )


def big_payload(kb: int) -> dict:
    """A PostToolUse (Bash) payload whose stdout is ``kb`` KB of repository source. A ``<private``
    tag in it is defused (``(private``): the drainer hides an unclosed one to the end of the text,
    which would leave little to redact."""
    text, files = "", corpus_files()
    while len(text) < kb * 1024:
        for path in files:
            text += path.read_text(encoding="utf-8").replace("<private", "(private").replace("</private", "(/private")
            if len(text) >= kb * 1024:
                break
    base = next(p for p in recorded() if p["hook_event_name"] == "PostToolUse")
    return {
        **base,
        "tool_name": "Bash",
        "tool_input": {"command": "cat plugin/**/*.py"},
        "tool_response": {"stdout": text[: kb * 1024], "stderr": "", "interrupted": False},
    }


def recorded() -> list[dict]:
    """The recorded capture payloads."""
    out = []
    for line in PAYLOADS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            payload = json.loads(line)
            if payload.get("hook_event_name") in CAPTURED:
                out.append(payload)
    return out


def cpu_ms_per_event(payloads: list[dict], iterations: int, redact: bool) -> float:
    """CPU ms per call of ``event_rows`` over ``payloads``, ``iterations`` rounds."""
    import logging

    from lakeloop.capture.rows import event_rows
    from lakeloop.identity import Identity

    os.environ["LAKELOOP_REDACT"] = "1" if redact else "0"
    log = logging.getLogger("bench.redaction")
    log.disabled = True
    identity = Identity("bench")
    for payload in payloads:  # warm up: rules built, caches filled
        event_rows(dict(payload), time.time_ns(), "warm", identity, log)
    started = time.process_time()
    for _ in range(iterations):
        for payload in payloads:
            event_rows(dict(payload), time.time_ns(), "e", identity, log)
    return (time.process_time() - started) * 1000 / (iterations * len(payloads))


#: What a drainer imports whether or not it redacts (the baseline of ``build_cost_ms``).
DRAINER_IMPORTS = (
    "import lakeloop.capture.drain, lakeloop.capture.parse, lakeloop.capture.rows, "
    "lakeloop.outbox.drainer, lakeloop.store, "
    "lakeloop.store.embedded, lakeloop.deeplake.credentials, lakeloop.boundedjson, lakeloop.log"
)


def build_cost_ms(cached: bool) -> float:
    """CPU ms a fresh process that imported what a drainer imports (``DRAINER_IMPORTS``) then
    spends building the rules (and redacting one string); ``cached``: with the patterns cache
    already in the data dir (else a new, empty data dir: detect-secrets is imported). Best of 3."""

    def child(code: str, data_dir: str) -> float:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [sys.executable, "-c", code],
            check=True,
            env={**os.environ, "LAKELOOP_DATA_DIR": data_dir, "PYTHONPATH": str(ROOT / "plugin")},
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1000

    base_code = DRAINER_IMPORTS
    build = DRAINER_IMPORTS + "; import lakeloop.redact as r; r.redact_text('x')"
    with tempfile.TemporaryDirectory() as warm_dir:
        child(build, warm_dir)  # leaves the cache
        base = min(child(base_code, warm_dir) for _ in range(3))
        if cached:
            return min(child(build, warm_dir) for _ in range(3)) - base
    runs = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as cold_dir:
            runs.append(child(build, cold_dir))
    return min(runs) - base


def run_cost(args) -> None:
    payloads = recorded()
    big = [big_payload(args.big_kb)]
    print(f"command: python bench/redaction.py --iterations {args.iterations} --big-kb {args.big_kb}")
    print(
        f"recorded payloads: {len(payloads)} capture events "
        f"({', '.join(sorted({p['hook_event_name'] for p in payloads}))})"
    )
    rows = []
    for label, items, n in (
        ("recorded payloads", payloads, args.iterations),
        (f"{args.big_kb} KB tool output", big, max(5, args.iterations // 10)),
    ):
        off = cpu_ms_per_event(items, n, redact=False)
        on = cpu_ms_per_event(items, n, redact=True)
        rows.append((label, off, on))
    print(f"{'event':<24} {'no redaction':>14} {'redaction':>11} {'added':>9}   (CPU ms per event)")
    for label, off, on in rows:
        print(f"{label:<24} {off:>14.3f} {on:>11.3f} {on - off:>9.3f}")
    cold, warm = build_cost_ms(cached=False), build_cost_ms(cached=True)
    print(
        f"building the rules once per drainer: {cold:.0f} ms CPU cold (imports detect-secrets), "
        f"{warm:.0f} ms warm (patterns cache in the data dir)"
    )


def run_false_positives(args) -> None:
    from lakeloop.redact import get_scanner

    scanner = get_scanner()
    if args.files:
        names = [line.strip() for line in Path(args.files).read_text(encoding="utf-8").splitlines() if line.strip()]
        files = [ROOT / name for name in names if (ROOT / name).is_file()]
        missing = len(names) - len(files)
    else:
        files, missing = corpus_files(), 0
    total_bytes, found, hit_files = 0, [], 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        rel = str(path.relative_to(ROOT))
        stored = json.dumps({"type": "text", "file": {"filePath": rel, "content": text}}, ensure_ascii=False)
        total_bytes += len(stored.encode("utf-8"))
        spans = scanner.find(stored)
        hit_files += bool(spans)
        for start, end, kind in spans:
            value = stored[start:end]
            found.append((rel, kind, f"{value[:3]}...({len(value)} chars)"))
    mb = total_bytes / 1e6
    print("command: python bench/redaction.py --false-positives" + (f" --files {args.files}" if args.files else ""))
    if missing:
        print(f"({missing} listed files no longer exist)")
    print(
        f"{len(files)} files, {mb:.2f} MB as stored tool output; {len(found)} redactions in {hit_files} files: "
        f"{len(found) / len(files):.3f} per file, {len(found) / mb:.1f} per MB"
    )
    for rel, kind, sample in found[: args.show]:
        print(f"  {rel}: {kind}: {sample}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--big-kb", type=int, default=100)
    parser.add_argument("--false-positives", action="store_true")
    parser.add_argument("--show", type=int, default=50)
    parser.add_argument("--files", help="measure the files listed in this file (one relative path a line)")
    parser.add_argument("--list-files", action="store_true", help="print the files --false-positives measures")
    args = parser.parse_args()
    if args.list_files:
        for path in corpus_files():
            print(path.relative_to(ROOT))
        return 0
    with tempfile.TemporaryDirectory() as data_dir:
        os.environ["LAKELOOP_DATA_DIR"] = data_dir
        os.environ.pop("LAKELOOP_REDACT_PATTERNS", None)
        if args.false_positives:
            run_false_positives(args)
        else:
            run_cost(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
