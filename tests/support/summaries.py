"""Session summaries in tests: rows of a session, a scripted summariser and the job's deps.

* ``answer(what="...", next_steps="none", **sections)``: a summariser answer with the eight
  headings in order (``sections`` replaces a section's body by its heading's key, e.g.
  ``Files_Modified``); ``without(answer, heading)`` drops one section.
* ``Model(*answers)``: the model of ``SummaryDeps``: answers in turn (the last repeats; an
  ``Exception`` instance is raised), every ``(prompt, system)`` kept in ``calls``.
* ``events(session, turns, start=0)`` / ``rows_of(...)``: sessions rows as the drainer builds them
  (``capture.rows``) for ``turns`` (``[("user", text) | ("assistant", text) | ("tool", name,
  input)]``), one millisecond apart from ``start`` ms, filed under ``IDENTITY`` (alice), cwd
  ``/work/shop``.
* ``deps(store, model, **kw)``: ``SummaryDeps`` with the local state of this test's data dir,
  a fake clock (``Clock``) and sleep, and an identity that files sessions under ``IDENTITY``.
* ``memory_rows(store, path)``: ``[(id, text)]`` of the memory table's rows at ``path``, read
  with raw SQL (embedded) or through the store's client (Deeplake), not through the readers that
  keep the newest version; ``memory_table(store)``: ``[(path, id, text)]`` of every row, the same way.
* ``fenced(prompt, word)``: the text between a prompt's fence lines of ``word``; ``outside(prompt)``
  the prompt with every fenced part removed.
* ``no_runner(monkeypatch)``: jobs are queued, but no job runner is started or woken (in-process
  tests of the enqueue side read the queue itself); ``summary_jobs()``: the queue's ``summarize``
  rows (``jobs.queue.Job``), by id.

Real processes (hooks, job runner, job processes, the real ``claude -p`` against ``FakeAnthropic``):

* ``summariser(monkeypatch, claude_bin, api, tmp_path, hold=None)``: this test's environment (and
  every process it starts): the agent CLI is ``claude_bin`` on ``api``'s base URL, through a
  wrapper that appends ``{"argv": [...], "worker": $LAKELOOP_WORKER, "at": epoch s}`` to
  ``agent_calls()``'s file on each call; short queue times (lease 5 s, linger 1 s, backoff
  2,4 s). With ``hold`` (a marker path), the first summary job stops for good right after its
  store write
  (``summaries_site/sitecustomize.py``). Returns ``agent_calls``.
* ``summary_script(*answers)``: a ``Script`` answering tool-less calls (the summariser) with
  ``answers`` in turn (the last repeats); ``summary_requests(api)``: the requests it received.
* ``capture_session(cwd, session, turns)``: each turn through its capture hook, as Claude Code
  sends it (``("user", text)``, ``("assistant", text)``, ``("tool", output)``: a Bash call).
* ``end_session(cwd, session)``: the SessionEnd hook; ``wait_summary(session, state="done",
  after=None)``: await the session's summary job in ``state`` (done or failed after the epoch
  second ``after`` when given: a later run of the same job).
* ``read_summary(user, session, cwd)``: what the agent reads of the summary through the memory
  path (a ``Read`` answered by the PreToolUse hook).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from lakeloop.capture.rows import build_message, session_row
from lakeloop.identity import Identity
from lakeloop.summaries import HEADINGS
from lakeloop.summaries.job import SummaryDeps

IDENTITY = Identity("alice", "acme", "default")
CWD = "/work/shop"
#: When the first row of a session is captured (ns since the epoch): 2026-03-01T10:00:00Z.
T0_NS = 1_772_359_200 * 10**9


def answer(what: str = "Alice fixed the flaky checkout test.", next_steps: str = "none", **sections: str) -> str:
    """A well-formed summariser answer (see the module docstring)."""
    bodies = {h: f"- {h.lower()} item" for h in HEADINGS}
    bodies["What Happened"] = what
    bodies["Next Steps"] = next_steps
    for key, text in sections.items():
        bodies[key.replace("_", " ")] = text
    return "\n\n".join(f"## {h}\n{bodies[h]}" for h in HEADINGS) + "\n"


def without(text: str, heading: str) -> str:
    """``text`` without the section ``## heading``."""
    return re.sub(rf"## {re.escape(heading)}\n.*?(?=\n## |\Z)", "", text, flags=re.S)


class Model:
    """A scripted summariser (see the module docstring)."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers) or [answer()]
        self.calls: list[tuple[str, str]] = []

    def __call__(self, prompt: str, system: str) -> str:
        self.calls.append((prompt, system))
        reply = self.answers[min(len(self.calls), len(self.answers)) - 1]
        if isinstance(reply, BaseException):
            raise reply
        return reply

    @property
    def prompts(self) -> list[str]:
        return [p for p, _ in self.calls]


class Clock:
    """A settable clock (epoch seconds) whose ``sleep`` advances it and records the pauses."""

    def __init__(self, now: float = T0_NS / 1e9 + 3600) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def rows_of(session: str, turns: list[tuple], start_ms: int = 0, identity: Identity = IDENTITY, cwd: str = CWD):
    """Sessions rows (``SessionRow``) of ``turns`` (see the module docstring)."""
    out = []
    for i, turn in enumerate(turns):
        kind = turn[0]
        payload: dict[str, Any] = {"session_id": session, "cwd": cwd}
        if kind == "user":
            payload.update(hook_event_name="UserPromptSubmit", prompt=turn[1])
        elif kind == "assistant":
            payload.update(hook_event_name="Stop", last_assistant_message=turn[1])
        else:
            payload.update(hook_event_name="PostToolUse", tool_name=turn[1], tool_input=turn[2], tool_response="ok")
        at = start_ms + i
        message = build_message(payload, received_at_ns=T0_NS + at * 1_000_000, event_id=f"{session}-{at:06d}")
        out.append(session_row(message, identity))
    return out


def chat(n_prompts: int, answers: bool = True) -> list[tuple]:
    """``n_prompts`` user prompts, each followed by an answer when ``answers``."""
    turns: list[tuple] = []
    for i in range(n_prompts):
        turns.append(("user", f"prompt number {i}"))
        if answers:
            turns.append(("assistant", f"answer number {i}"))
    return turns


def deps(store, model, *, clock: Clock | None = None, state=None, log: logging.Logger | None = None, **kw):
    """``SummaryDeps`` for ``store`` and ``model`` (see the module docstring); ``kw`` overrides fields."""
    from lakeloop.summaries.state import State

    clock = clock or Clock()
    fields: dict[str, Any] = {
        "open_store": lambda: store,
        "model": model,
        "state": state or State.open(),
        "log": log or logging.getLogger("lakeloop.test-summaries"),
        "clock": clock,
        "sleep": clock.sleep,
        "identity": lambda env: IDENTITY,
        "draining": lambda: False,
        "home": "/home/alice",
        "input_chars": 24_000,
        "max_per_day": 50,
        "backoff_s": 3.0,
    }
    fields.update(kw)
    return SummaryDeps(**fields)


def payload(session: str, final: bool = False, **extra: Any) -> dict[str, Any]:
    """A ``summarize`` payload as the drainer's trigger writes it for ``session`` (``IDENTITY``)."""
    out = {
        "session_id": session,
        "final": final,
        "path": IDENTITY.session_path(session),
        "user": IDENTITY.user,
        "project": "shop",
        "cwd": CWD,
        "min_prompts": 2,
        "exclude": [],
    }
    out.update(extra)
    return out


def memory_table(store) -> list[tuple[str, str, str]]:
    """``[(path, id, text)]`` of every memory-table row, by path and id."""
    if store.name == "embedded":
        got = store._db.execute("SELECT path, id, summary FROM memory").fetchall()
        return sorted((str(p), str(i), str(t)) for p, i, t in got)
    got = store.client.query(f"SELECT path, id, summary FROM {store._t['memory']}")
    return sorted((str(r["path"]), str(r["id"]), str(r["summary"])) for r in got)


def memory_rows(store, path: str) -> list[tuple[str, str]]:
    """``[(id, text)]`` of every memory-table row at ``path``, by id."""
    return [(i, t) for p, i, t in memory_table(store) if p == path]


def fenced(prompt: str, word: str) -> list[str]:
    """The texts between ``<<<word-<nonce>`` and ``word-<nonce>>>>`` lines of ``prompt``."""
    pattern = rf"^<<<{word}-([0-9a-f]{{16}})\n(.*?)\n{word}-\1>>>$"
    return [m[1] for m in re.findall(pattern, prompt, flags=re.S | re.M)]


def outside(prompt: str) -> str:
    """``prompt`` with every fenced part (fence lines included) removed."""
    return re.sub(r"^<<<([A-Z-]+)-([0-9a-f]{16})\n.*?\n\1-\2>>>$", "", prompt, flags=re.S | re.M)


def no_runner(monkeypatch) -> None:
    """Queue jobs without starting or waking a runner (see the module docstring)."""
    monkeypatch.setattr("lakeloop.jobs.wake.ensure_running", lambda log: "started")
    monkeypatch.setattr("lakeloop.jobs.wake.wake", lambda: False)
    monkeypatch.setattr("lakeloop.jobs.wake.kick_if_due", lambda log, now=None: None)


def summary_jobs() -> list:
    """The queue's ``summarize`` rows, by id ([] before the queue exists)."""
    from lakeloop import paths
    from tests.support.jobs import queue_rows

    if not os.path.exists(paths.jobs_db()):
        return []
    return [j for j in queue_rows() if j.kind == "summarize"]


# real processes ------------------------------------------------------------------------------------
SITE = Path(__file__).resolve().parent / "summaries_site"
_CALLS = "agent-calls.jsonl"


def summariser(monkeypatch, claude_bin: str, api, tmp_path: Path, hold: Path | None = None):
    """The summariser's environment for this test and its processes (see the module docstring)."""
    for name in list(os.environ):
        if name.startswith(("CLAUDE", "ANTHROPIC")):
            monkeypatch.delenv(name)
    calls = tmp_path / _CALLS
    wrapper = tmp_path / "agent-cli"
    wrapper.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys, time\n"
        f"with open({str(calls)!r}, 'a') as f:\n"
        "    f.write(json.dumps({'argv': sys.argv[1:], 'worker': os.environ.get('LAKELOOP_WORKER'), 'at': time.time()})"
        " + '\\n')\n"
        f"os.execv({claude_bin!r}, [{claude_bin!r}, *sys.argv[1:]])\n"
    )
    wrapper.chmod(0o755)
    for name, value in {
        "ANTHROPIC_BASE_URL": api.base_url,
        "ANTHROPIC_API_KEY": "test-key",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "LAKELOOP_CLAUDE_BIN": str(wrapper),
        "LAKELOOP_JOBS_LEASE_S": "5",
        "LAKELOOP_JOBS_LINGER_S": "1",
        "LAKELOOP_JOBS_BACKOFF_S": "2,4",
    }.items():
        monkeypatch.setenv(name, value)
    if hold is not None:
        monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(SITE), os.environ.get("PYTHONPATH")) if p))
        monkeypatch.setenv("LAKELOOP_TEST_SUMMARY_HOLD", str(hold))

    def agent_calls() -> list[dict[str, Any]]:
        try:
            return [json.loads(line) for line in calls.read_text().splitlines()]
        except FileNotFoundError:
            return []

    return agent_calls


def summary_script(*answers: str):
    """A ``FakeAnthropic`` script: tool-less calls get ``answers`` in turn (see the module docstring)."""
    from tests.support.fake_anthropic import Reply, Script, is_tool_less

    return Script().on(is_tool_less, *(Reply.text(a) for a in answers or (answer(),)))


def summary_requests(api) -> list[dict[str, Any]]:
    """The summariser's requests ``api`` received (tool-less message requests), in order."""
    from tests.support.fake_anthropic import is_tool_less

    return [r for r in api.message_requests if is_tool_less(r)]


def capture_session(cwd: str | os.PathLike, session: str, turns: list[tuple[str, str]]) -> None:
    """Send ``turns`` of ``session`` in ``cwd`` through the capture hooks (module docstring)."""
    from tests.support.capture import capture, prompt, stop, tool

    for kind, text in turns:
        if kind == "user":
            capture("UserPromptSubmit", prompt(cwd, text, session))
        elif kind == "assistant":
            payload = stop(cwd, text)
            payload["session_id"] = session
            capture("Stop", payload)
        else:
            payload = tool(cwd, text)
            payload["session_id"] = session
            capture("PostToolUse", payload)


def end_session(cwd: str | os.PathLike, session: str) -> None:
    """The SessionEnd hook of ``session`` in ``cwd``, as Claude Code runs it."""
    from tests.support.hooks import run_quiet_hook

    run_quiet_hook(
        "SessionEnd", {"session_id": session, "cwd": str(cwd), "reason": "exit", "hook_event_name": "SessionEnd"}
    )


def wait_summary(session: str, state: str = "done", timeout: float = 120, after: float | None = None):
    """Await the summary job of ``session`` in ``state`` (see the module docstring); returns its row."""
    from tests.support.jobs import job
    from tests.support.waiting import wait_until

    def reached():
        row = job(f"session:{session}", "summarize")
        if row is None or row.state != state:
            return None
        return row if after is None or (row.finished_at or 0) > after else None

    try:
        return wait_until(reached, timeout, f"the summary job of {session} {state}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; job: {job(f'session:{session}', 'summarize')}; log:\n{log_tail()}") from None


def log_tail(lines: int = 40) -> str:
    """The last ``lines`` lines of this test's lakeloop log ('' without one): what the hooks, the
    drainer, the runner and the job said, for a failure's message."""
    from lakeloop import paths

    try:
        return "\n".join(paths.log_file().read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def read_summary(user: str, session: str, cwd: str | os.PathLike) -> str:
    """What the agent reads of ``session``'s summary through the memory path (module docstring)."""
    from tests.support.hooks import pretooluse_payload, run_pretooluse
    from tests.support.memory_answers import agent_sees

    path = f"{Path.home()}/.deeplake/memory/summaries/{user}/{session}.md"
    decision, out, _ = run_pretooluse(pretooluse_payload("Read", {"file_path": path}, cwd, session_id=session))
    return agent_sees("Read", decision, out, cwd)
