"""The ``summarize`` job kind: one session's summary, written to the team memory.

``summarize(payload, deps)`` does the work with its I/O injected (``SummaryDeps``: the store,
the model, the local state, the clock, the sleep, the log), so every branch is tested in
milliseconds; ``kind()`` is the job kind the runner runs, with the real ones.

A run, in order (docs/summaries.md):

1. **Guards.** The session id must be a safe path component (else ``JobFailed``). A project
   excluded by the capturing session's ``LAKELOOP_EXCLUDE`` or a ``.lakeloop-ignore``, or
   ``LAKELOOP_SUMMARY_MAX_PER_DAY`` 0: done ``off``. ``LAKELOOP_SUMMARY_MAX_PER_DAY`` (> 0) model
   runs already today (UTC): ``RetryLater`` until
   the next UTC day (no attempt spent; the job stays queued, on disk, for a later kick). A
   final summary while the local outbox still holds events waits, in this process, for it to
   drain (a local ``stat`` every ``DRAIN_POLL_S``, up to ``DRAIN_WAIT_S`` after the session
   ended; no store request), then goes on with what is stored. The wait stays inside the
   attempt: a job queued for later would wait for the next hook to start a runner.
2. **Read.** One ``session_rows`` query for the rows after the last summary (all of them the first
   time). When fewer are visible than the drainer stored (the store's insert->read lag), the read
   is repeated ``retries`` times, ``backoff_s`` x n seconds apart, then the job goes on with what
   it has. No new row: done ``unchanged``. No earlier summary and fewer than the session's
   ``LAKELOOP_SUMMARY_MIN_PROMPTS`` prompts: done ``too_short``, without a model call.
3. **Input and prompt** (``transcript``, ``prompts``): at most ``LAKELOOP_SUMMARY_INPUT_CHARS`` of
   session text, cleaned again, fenced as data; a refresh sends the previous summary and only the
   new rows.
4. **Model and check** (``check``): a rejected answer is asked for once more with the reasons,
   then the job fails (``JobFailed``) with them.
5. **Write.** The file (our header, the model's sections) at ``path_for(user, session id)``: the
   path never comes from the model. Its row id is fixed by the input (session, last row read,
   final or not), so a job taken again after its runner died writes the same row: an attempt
   after the first writes ``unsure`` (the store looks the id up first) and supersedes, and a
   refresh supersedes the session's earlier summary, so readers see one summary per session.
6. **Ledger and log.** One ``summary_runs`` row per run that called the model, and one log line:
   ``summary session=<id> final=<bool> chars_sent=N chars_received=M model_ms=T rows=R
   outcome=<word>`` (never any session text).
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import config
from ..errors import AgentError
from ..identity import Identity, path_component, project_key, utc_now
from ..jobs import JobFailed, RetryLater
from ..jobs.kinds import Context, Kind
from ..store.base import SessionRow, Store
from ..store.memory_types import NoteRow
from . import KIND, path_for, prompts
from .check import check, header
from .state import State
from .transcript import TYPES, build_input

if TYPE_CHECKING:
    from ..agents.base import Agent

#: Namespace of summary row ids (uuid5 of session, last row read and final).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "lakeloop:session-summary")
#: How long a final summary waits for the local outbox to drain after the session ended, seconds.
DRAIN_WAIT_S = 60.0
#: Pause between two looks at the outbox while it drains, seconds.
DRAIN_POLL_S = 0.5
#: Reads of the session's rows after the first, while fewer are visible than were stored.
READ_RETRIES = 5
#: The kind's limits: attempts (1 + 4 retries: the whole backoff schedule) and seconds per attempt.
MAX_ATTEMPTS = 5
TIMEOUT_S = 300.0
#: Seconds kept free of a model call before the attempt's deadline (the store write after it).
WRITE_MARGIN_S = 20.0
#: Why a job fails at once when there is no agent CLI to run (a missing or non-executable binary),
#: for a Claude Code session (``no_agent_cli`` names the setting of the session's agent).
NO_AGENT_CLI = "no agent CLI: set LAKELOOP_CLAUDE_BIN or put claude on PATH"


def no_agent_cli(agent: Agent) -> str:
    """The one-line reason a job fails when ``agent``'s CLI cannot be run (``NO_AGENT_CLI`` for
    Claude Code)."""
    if agent.name == "claude":
        return NO_AGENT_CLI
    return f"no agent CLI: set {agent.bin_env} or put {agent.name} on PATH"


def _default_identity(env: Mapping[str, str] | None) -> Identity:
    from ..store import current_identity

    return current_identity(env)


def _outbox_pending() -> bool:
    from ..outbox import pending

    return bool(pending())


@dataclass
class SummaryDeps:
    """The job's I/O. ``open_store() -> Store`` is called once, on first need (a capped or excluded
    job opens nothing); ``model(prompt, system) -> answer`` raises AgentError (an attempt) or
    JobFailed (no model to call); ``state`` is the local summary state; ``clock() -> epoch
    seconds``; ``sleep(seconds)``; ``attempt``: this
    attempt's number (1 first); ``identity(recorded env) -> Identity`` files a session that
    only SessionEnd saw; ``draining() -> bool``: the local outbox still holds events; ``home``:
    this machine's home directory (shown as ``~``). The limits default to the settings."""

    open_store: Callable[[], Store]
    model: Callable[[str, str], str]
    state: State
    log: logging.Logger
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    attempt: int = 1
    identity: Callable[[Mapping[str, str] | None], Identity] = _default_identity
    draining: Callable[[], bool] = _outbox_pending
    home: str = field(default_factory=lambda: os.path.expanduser("~"))
    input_chars: int = field(default_factory=config.summary_input_chars)
    max_per_day: int = field(default_factory=config.summary_max_per_day)
    retries: int = READ_RETRIES
    backoff_s: float = field(default_factory=config.invocation_backoff_s)


@dataclass
class _Run:
    """What one run measured, for its log line and ledger row."""

    session_id: str
    final: bool
    rows: int = 0
    chars_sent: int = 0
    chars_received: int = 0
    model_ms: int = 0


def row_id(session_id: str, through: tuple[str, str], final: bool) -> str:
    """The memory row id of a summary: uuid5 of the session, the last row it covers and whether it
    is the final one (32 hex digits). The same input gives the same id."""
    return uuid.uuid5(NAMESPACE, f"{session_id}\n{through[0]}\n{through[1]}\n{int(final)}").hex


def summarize(payload: dict[str, Any], deps: SummaryDeps) -> str:
    """Make and write the summary of ``payload["session_id"]`` (see the module docstring).

    ``payload``: ``session_id``, ``final``, ``cwd``, ``exclude`` (the session's ``LAKELOOP_EXCLUDE``
    globs), ``min_prompts``, and either ``path`` and ``user`` (the stored rows') or ``author_env``
    (the session's recorded user variables); ``project`` and ``ended_at`` optional.
    Returns the outcome word: ``written``, ``unchanged``, ``too_short``, ``off``.
    Raises JobFailed (a bad payload; an answer rejected twice; the model raised it: no agent CLI),
    RetryLater (the daily cap is reached), AgentError (the model call failed: an attempt), StoreError."""
    sid = payload.get("session_id")
    if not isinstance(sid, str) or not sid or path_component(sid) != sid:
        raise JobFailed("summary job without a usable session id")
    run = _Run(sid, bool(payload.get("final")))
    _prune(deps)
    outcome = _guards(payload, deps, run)
    if outcome:
        return _done(deps, run, outcome)
    path, user = _where(payload, deps)
    previous = deps.state.session(sid)
    through = previous.through if previous is not None and previous.summary else None
    expected = 0 if previous is None else max(0, int(previous.rows_stored or 0) - int(previous.rows_summarized or 0))
    store = deps.open_store()
    rows = _read(store, path, through, expected, deps)
    run.rows = len(rows)
    if not rows:
        return _done(deps, run, "unchanged" if through else "too_short")
    data = build_input(rows, deps.input_chars, deps.home)
    min_prompts = _int(payload.get("min_prompts"), config.summary_min_prompts())
    if through is None and data.prompts < min_prompts:
        return _done(deps, run, "too_short")
    assert data.through is not None  # rows is not empty
    prior = previous.summary if through is not None and previous is not None else ""
    started = (previous.started if prior and previous is not None else "") or data.started
    project = str(payload.get("project") or rows[-1].project or project_key(str(payload.get("cwd") or "")))
    head = header(sid, path, started, data.ended, project)
    meta = [  # ours: the id is a checked path component, the rest counts and flags
        f"session id: {sid}",
        f"events in this part: {data.rows}" + (f" ({data.elided} elided in the middle)" if data.elided else ""),
        "the session has ended" if run.final else "the session is still running",
    ]
    recorded = [  # values that came from the session: fenced as data
        f"project: {_meta(project)}",
        f"user: {_meta(user)}",
        f"started: {_meta(started)}",
        f"latest event: {_meta(data.ended)}",
    ]
    text = _ask((meta, recorded), data.text, prior, head, deps, run)
    body = text[len(head) :]
    row = NoteRow(
        id=row_id(sid, data.through, run.final),
        path=path_for(user, sid),
        text=text,
        author=user,
        project=project,
        date=utc_now(),
        description="summary",
    )
    store.put_memory_doc(
        row, unsure=deps.attempt > 1, supersede=deps.attempt > 1 or bool(previous is not None and previous.row_id)
    )
    now = deps.clock()
    # Rows the drainer stored that never became visible are not waited for again by the next run.
    deps.state.save_summary(
        sid, through=data.through, rows=max(len(rows), expected), started=started, row_id=row.id, summary=body, now=now
    )
    _ledger(deps, run, ok=True, reason="")
    return _done(deps, run, "written")


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else default


def _meta(value: str) -> str:
    """A recorded value on one metadata line: escaped to one line, cut (``build_prompt`` fences
    it as data and defuses the fence words)."""
    from ..textsafe import escape_line

    return escape_line(value)[:120]


def _prune(deps: SummaryDeps) -> None:
    """Prune the local state of sessions not seen for ``state.KEEP_SESSION_DAYS`` (best effort:
    a failure is logged, the job goes on)."""
    from ..jobs import JobsUnavailable
    from ..log import short

    try:
        deps.state.prune(deps.clock())
    except JobsUnavailable as exc:
        deps.log.info("summary state not pruned: %s", short(str(exc), 200))


def _guards(payload: dict[str, Any], deps: SummaryDeps, run: _Run) -> str:
    """The outcome of a job that must not run ('' when it may), or RetryLater (the daily cap);
    a final one first waits for the local outbox to drain (see the module docstring)."""
    from ..redact.exclude import excluded

    globs = payload.get("exclude")
    globs = [g for g in globs if isinstance(g, str)] if isinstance(globs, list) else []
    if excluded(str(payload.get("cwd") or ""), globs):
        return "off"
    if deps.max_per_day <= 0:  # summaries turned off on this machine: nothing to wait for
        return "off"
    now = deps.clock()
    if deps.state.runs_today(now) >= deps.max_per_day:
        wait = 86400 - now % 86400 + 60  # a minute into the next UTC day
        deps.log.info("summary cap reached: %d summary runs today (LAKELOOP_SUMMARY_MAX_PER_DAY)", deps.max_per_day)
        raise RetryLater(wait, "the daily summary cap is reached")
    ended = payload.get("ended_at")
    if run.final and isinstance(ended, (int, float)) and not isinstance(ended, bool):
        until = float(ended) + DRAIN_WAIT_S
        while deps.clock() < until and deps.draining():
            deps.sleep(DRAIN_POLL_S)
        if deps.draining():
            deps.log.info("summary: the outbox still holds events %d s after the session ended; going on", DRAIN_WAIT_S)
    return ""


def _where(payload: dict[str, Any], deps: SummaryDeps) -> tuple[str, str]:
    """``(the session's row path, its author)``: the stored rows' when the payload has them, else
    from the session's recorded user variables (a session only SessionEnd saw)."""
    path, user = payload.get("path"), payload.get("user")
    if isinstance(path, str) and path.startswith("/sessions/") and isinstance(user, str) and user:
        return path, user
    env = payload.get("author_env")
    recorded = {str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else None
    identity = deps.identity(recorded)
    return identity.session_path(str(payload["session_id"])), identity.user


def _read(store: Store, path: str, after: tuple[str, str] | None, expected: int, deps: SummaryDeps) -> list[SessionRow]:
    """The session's rows after ``after``; read again while fewer than ``expected`` are visible
    (the insert->read lag), at most ``deps.retries`` times, then what there is."""
    rows: list[SessionRow] = []
    for attempt in range(deps.retries + 1):
        rows = store.session_rows(path, types=TYPES, after=after)
        if len(rows) >= expected:
            return rows
        if attempt < deps.retries:
            deps.sleep(deps.backoff_s * (attempt + 1))
    deps.log.info(
        "summary: %d of %d stored rows visible after %d reads; going on", len(rows), expected, deps.retries + 1
    )
    return rows


def _ask(meta: tuple[list[str], list[str]], text: str, prior: str, head: str, deps: SummaryDeps, run: _Run) -> str:
    """The checked file: the model asked once, and once more with the reasons when its answer is
    rejected. ``meta``: ``(our metadata lines, recorded metadata lines)`` (``prompts.build_prompt``).
    Raises JobFailed (rejected twice) and AgentError (the call failed)."""
    reasons: list[str] = []
    for _ in range(2):
        prompt = prompts.build_prompt(meta[0], text, prior, reasons, recorded=meta[1])
        started = time.monotonic()
        try:
            answer = deps.model(prompt, prompts.SYSTEM)
        except JobFailed:  # no model to call (no agent CLI): not a model run
            _log(deps, run, "failed")
            raise
        except AgentError:
            run.model_ms += int((time.monotonic() - started) * 1000)
            run.chars_sent += len(prompt) + len(prompts.SYSTEM)
            _ledger(deps, run, ok=False, reason="model call failed")
            _log(deps, run, "model_error")
            raise
        run.model_ms += int((time.monotonic() - started) * 1000)
        run.chars_sent += len(prompt) + len(prompts.SYSTEM)
        run.chars_received += len(answer)
        file, reasons = check(answer, head, deps.home)
        if not reasons:
            return file
    reason = "summary rejected: " + "; ".join(reasons)
    _ledger(deps, run, ok=False, reason=reason)
    _log(deps, run, "rejected")
    raise JobFailed(reason)


def _ledger(deps: SummaryDeps, run: _Run, *, ok: bool, reason: str) -> None:
    deps.state.record_run(
        run.session_id,
        ok=ok,
        chars_sent=run.chars_sent,
        chars_received=run.chars_received,
        model_ms=run.model_ms,
        reason=reason,
        now=deps.clock(),
    )


def _log(deps: SummaryDeps, run: _Run, outcome: str) -> None:
    from ..log import short

    deps.log.info(
        "summary session=%s final=%s chars_sent=%d chars_received=%d model_ms=%d rows=%d outcome=%s",
        short(run.session_id, 128),
        str(run.final).lower(),
        run.chars_sent,
        run.chars_received,
        run.model_ms,
        run.rows,
        outcome,
    )


def _done(deps: SummaryDeps, run: _Run, outcome: str) -> str:
    _log(deps, run, outcome)
    return outcome


# the job kind ------------------------------------------------------------------------------------
def run(payload: dict[str, Any], ctx: Context) -> str:
    """The ``summarize`` kind's function: ``summarize`` with the real I/O: the configured store
    (opened on first need), the tool-less model call of the agent that produced the session (the
    payload's ``agent``, the rows' agent value; Claude Code when absent: ``claude -p --tools ""``
    with ``LAKELOOP_SUMMARY_MODEL``; see ``lakeloop.agents.calls``) as a process the optimizer
    starts (``LAKELOOP_WORKER=1``, so it is never captured), each call bounded by
    ``LAKELOOP_AGENT_TIMEOUT_S`` and by the attempt's deadline, and the local state. No agent CLI
    (none found, or not an executable) fails the job at once (``JobFailed``, ``no_agent_cli``):
    retrying cannot help; any other failed call is an attempt."""
    from ..agents import by_row_agent
    from ..agents.base import JOB_AGENT_KEY

    agent = by_row_agent(payload.get(JOB_AGENT_KEY))

    def model(prompt: str, system: str) -> str:
        import shutil

        from ..detach import worker_env

        binary = agent.find_binary()
        if binary is None or shutil.which(binary) is None:  # permanent: no point in another attempt
            raise JobFailed(no_agent_cli(agent))
        left = ctx.deadline - time.time() - WRITE_MARGIN_S
        if left < 5:
            raise AgentError("no time left for the summary's model call")
        return agent.model_call(prompt, system, "summary", min(config.agent_timeout_s(), left), worker_env())

    opened: list[Store] = []

    def open_store() -> Store:
        if not opened:
            from ..store import open_store as open_configured

            opened.append(open_configured())
        return opened[0]

    state = State.open()
    try:
        deps = SummaryDeps(open_store=open_store, model=model, state=state, log=ctx.log, attempt=ctx.attempt)
        return summarize(payload, deps)
    finally:
        state.close()
        for store in opened:
            store.close()


def kind() -> Kind:
    """The ``summarize`` job kind: ``MAX_ATTEMPTS`` attempts, ``TIMEOUT_S`` seconds each."""
    return Kind(name=KIND, run=run, max_attempts=MAX_ATTEMPTS, timeout_s=TIMEOUT_S)
