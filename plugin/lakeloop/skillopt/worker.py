"""The worker's logic (docs/skill-loop.md, "Worker"), with its I/O as parameters.

``improve(job, deps)`` finds the invocation (polling through the store's
insert->read visibility lag), builds the transcript window, asks the judge,
and on a clear failure asks the proposer for edits, applies them, dedups, and
then either holds the change as a proposal, when the guard
(``skillopt.guard``) objects or ``LAKELOOP_SKILL_REVIEW=all``, or publishes
version + 1 and checks for a publish race with another machine: the loser
re-applies its edits on the winner and publishes the next version, or records
that they no longer apply. It never touches the network itself: the store, the
judge and proposer calls, the clock and the sleep come in ``deps``, so every
branch is tested in milliseconds. The per-skill lease (one worker per skill on
a machine) is taken by the caller (``lakeloop.cli.worker``).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import config
from ..agents.base import JOB_AGENT_KEY
from ..errors import AgentError, StoreError
from ..identity import Identity, utc_now
from ..store.base import SessionRow, SkillRow, Store
from . import MAX_REACTION_CHARS, attempts, guard, prompts, review
from .edits import apply_edits
from .parse import Edit, Verdict, parse_edits, parse_verdict
from .refs import ref_from_tool, split_ref
from .versions import next_version, with_reason

#: Retries after the first invocation lookup (seed 000: 1 try + 5 retries).
INVOCATION_RETRIES = 5
#: Base of the linear backoff between lookups, seconds (sleep = base x attempt; seed 000).
INVOCATION_BACKOFF_S = 3.0
TURNS_BEFORE = 3
TURNS_AFTER = 6
#: The window is elided (head + tail kept) to this many characters.
WINDOW_CHARS = 4000
#: Marker added to contributors of versions the optimizer publishes.
OPTIMIZER_MARKER = review.OPTIMIZER_MARKER
#: Re-publishes after lost publish races before a run gives up.
MAX_REPUBLISH = 3
#: Reads of the skill's rows after a publish, spread over the store's visibility wait (point 8).
RACE_READS = 3
_TURN_TYPES = ("user_message", "assistant_message")
#: the rows' agent of a job that names none (jobs and rows from before agents were recorded)
DEFAULT_AGENT = "claude_code"


@dataclass
class Job:
    """A reaction handed from UserPromptSubmit to the worker. ``reacted_at`` (seconds since
    the epoch) is when the reaction was received: the job file's ``reacted_at`` when it
    has one, else its ``created_at`` (written just after the reaction was stored). ``agent``
    is the session rows' agent (the job payload's ``agent``; ``claude_code`` when absent, as
    in jobs written before agents were recorded): the judge and proposer run through that
    agent's CLI, and the version it publishes records it as ``source_agent``. ``event_id`` is the
    reaction's event id and ``use_id`` the armed use's id (both ``""`` in older jobs), ``armed_at``
    when the window was armed (epoch seconds, None in older jobs): the outcome row of the
    judgment is keyed on them."""

    session_id: str
    skill: str
    reaction: str
    tool_use_id: str = ""
    user: str = ""
    armed_version: int | None = None
    cwd: str = ""
    reacted_at: float | None = None
    agent: str = DEFAULT_AGENT
    event_id: str = ""
    use_id: str = ""
    armed_at: float | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        """Build from a job file's JSON. Raises ValueError on missing or bad fields (an
        ``agent`` naming no known agent's rows counts as absent)."""
        sid, skill, reaction = data.get("session_id"), data.get("skill"), data.get("reaction")
        if not (isinstance(sid, str) and sid and isinstance(skill, str) and isinstance(reaction, str)):
            raise ValueError("job needs session_id, skill and reaction strings")
        version = data.get("armed_version")
        when = next(
            (
                float(v)
                for v in (data.get("reacted_at"), data.get("created_at"))
                if isinstance(v, (int, float)) and not isinstance(v, bool)
            ),
            None,
        )
        return cls(
            sid,
            skill,
            reaction,
            str(data.get("tool_use_id") or ""),
            str(data.get("user") or ""),
            version if isinstance(version, int) else None,
            str(data.get("cwd") or ""),
            when,
            _agent(data.get(JOB_AGENT_KEY)),
            str(data.get("event_id") or "")[:64],
            str(data.get("use_id") or "")[:64],
            _seconds(data.get("armed_at")),
        )


def _seconds(value: object) -> float | None:
    """``value`` as epoch seconds when it is a number, else None."""
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _agent(value: object) -> str:
    """The job payload's agent when it is a known agent's rows value, else the default."""
    from ..agents import all_agents

    known = {agent.row_agent for agent in all_agents()}
    return value if isinstance(value, str) and value in known else DEFAULT_AGENT


@dataclass
class Deps:
    """The worker's I/O. ``judge`` and ``propose`` take ``(prompt, system)`` and return
    the reply text (raising AgentError); ``sleep`` takes seconds.

    ``review``: ``auto`` or ``all`` (``LAKELOOP_SKILL_REVIEW``); ``now``: the
    clock for created_at (``identity.utc_now``'s format); ``before_publish``: called with each
    version row just before it is inserted (tests line racing workers up there);
    ``race_reads`` and ``race_wait_s``: the publish-race check's reads of the skill's rows and
    the time they are spread over, seconds (default: the store's ``visibility_wait_s``, 0 for
    a store without a visibility lag); ``record``: called with the job and the verdict right
    after each judgment (``skillopt.outcomes.record_judged``; an exception it raises is logged,
    never stops the improvement)."""

    store: Store
    identity: Identity
    judge: Callable[[str, str], str]
    propose: Callable[[str, str], str]
    sleep: Callable[[float], None]
    log: logging.Logger
    retries: int = INVOCATION_RETRIES
    backoff_s: float = INVOCATION_BACKOFF_S
    min_confidence: float = 0.5
    review: str = field(default_factory=config.skill_review)
    now: Callable[[], str] = utc_now
    before_publish: Callable[[SkillRow], None] | None = None
    race_reads: int = RACE_READS
    race_wait_s: float | None = None
    record: Callable[[Job, Verdict], object] | None = None


@dataclass
class Outcome:
    """How a run ended. ``status`` is one of: published, judged_success,
    invocation_not_found, store_error, bad_job, skill_missing, already_improved,
    proposer_failed, no_edits, duplicate; and held (kept as a proposal:
    ``details["proposal_id"]``, ``details["held_by"]``), republished (lost a publish race,
    re-applied the edits on the winner and published the next version), race_lost (lost a
    publish race and the edits no longer apply to the winner, or too many races lost)."""

    status: str
    reason: str
    version: int | None = None
    queries: int = 0
    details: dict[str, Any] = field(default_factory=dict)


def _tool_input(row: SessionRow) -> Any:
    raw = row.message.get("tool_input")
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return {}
    return raw


def find_invocation(rows: list[SessionRow], ref: str, tool_use_id: str) -> int | None:
    """Index in ``rows`` of the tool_call that loaded ``ref``: the one with
    ``tool_use_id`` when present, else the latest. None when absent."""
    latest = None
    for i, row in enumerate(rows):
        if row.type != "tool_call":
            continue
        if ref_from_tool(str(row.message.get("tool_name", "")), _tool_input(row)) != ref:
            continue
        if tool_use_id and row.message.get("tool_use_id") == tool_use_id:
            return i
        latest = i
    return latest


def elide(text: str, limit: int = WINDOW_CHARS) -> str:
    """``text`` cut to ``limit`` characters by keeping its head and tail."""
    if len(text) <= limit:
        return text
    marker = f"\n...[{len(text) - limit} chars elided]...\n"
    keep = max(0, limit - len(marker))
    head = keep // 2
    return text[:head] + marker + text[len(text) - (keep - head) :]


def _turn(row: SessionRow) -> str:
    who = "USER" if row.type == "user_message" else "ASSISTANT"
    return f"{who}: {row.message.get('content', '')}"


def _is_copy(content: str, reaction: str) -> bool:
    """True when ``content`` is the captured prompt the (possibly capped) reaction came from."""
    if content == reaction:
        return True
    return len(reaction) == MAX_REACTION_CHARS and content.startswith(reaction)


def _captured_after(row: SessionRow, when: float) -> bool:
    """True when ``row``'s timestamp (message ``timestamp``, else ``creation_date``; UTC when it
    names no zone) is later than ``when`` (seconds since the epoch). Unreadable: False."""
    stamp = str(row.message.get("timestamp") or row.creation_date or "").strip()
    try:
        moment = _dt.datetime.fromisoformat(stamp[:-1] + "+00:00" if stamp.endswith("Z") else stamp)
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.timestamp() > when


def build_window(rows: list[SessionRow], at: int, reaction: str, reacted_at: float | None = None) -> str:
    """3 turns before and 6 after the invocation at ``rows[at]``, elided to 4000
    characters, then the reaction as the last USER turn (it lags the store; a
    captured copy of it is not repeated). ``reacted_at`` (seconds since the epoch,
    the job's) drops turns captured after the reaction: the session
    went on while the worker waited for the invocation row, and those turns would
    otherwise stand before the reaction, with its copy among them."""
    before = [r for r in rows[:at] if r.type in _TURN_TYPES][-TURNS_BEFORE:]
    after = [r for r in rows[at + 1 :] if r.type in _TURN_TYPES]
    if reacted_at is not None:
        after = [r for r in after if not _captured_after(r, reacted_at)]
    # The reaction is the session's newest prompt: if the last user turn is its captured copy,
    # drop it and whatever follows (the assistant may already be answering it).
    users = [i for i, r in enumerate(after) if r.type == "user_message"]
    if users and _is_copy(str(after[users[-1]].message.get("content", "")), reaction):
        after = after[: users[-1]]
    after = after[:TURNS_AFTER]
    text = elide("\n".join(_turn(r) for r in before + after))
    return f"{text}\nUSER: {reaction}" if text else f"USER: {reaction}"


def improve(job: Job, deps: Deps) -> Outcome:
    """Run the loop for one reaction. Never raises for expected failures: the
    outcome says what happened and why (and is logged)."""
    log = deps.log
    parts = split_ref(job.skill)
    if parts is None:
        return _done(log, Outcome("bad_job", f"not an org skill ref: {job.skill[:120]!r}"))
    path = deps.identity.session_path(job.session_id)
    queries = 0
    rows: list[SessionRow] = []
    at = None
    for attempt in range(deps.retries + 1):
        queries += 1
        try:
            rows = deps.store.session_rows(
                path, types=("user_message", "assistant_message", "tool_call"), mentions=job.skill
            )
        except StoreError as exc:
            return _done(log, Outcome("store_error", f"session query failed: {exc}", queries=queries))
        at = find_invocation(rows, job.skill, job.tool_use_id)
        if at is not None:
            break
        if attempt < deps.retries:
            delay = deps.backoff_s * (attempt + 1)
            log.info(
                "invocation of %s not visible yet (try %d/%d); retrying in %.1f s",
                job.skill,
                attempt + 1,
                deps.retries + 1,
                delay,
            )
            deps.sleep(delay)
    if at is None:
        return _done(
            log,
            Outcome("invocation_not_found", f"no invocation of {job.skill} after {queries} queries", queries=queries),
        )
    window = build_window(rows, at, job.reaction, job.reacted_at)

    try:
        verdict = parse_verdict(
            deps.judge(prompts.judge_prompt(job.skill, window), prompts.JUDGE_SYSTEM), deps.min_confidence
        )
    except AgentError as exc:
        _record(job, deps, Verdict(True, 0.0, f"judge failed: {exc}", False, "unclear"))
        return _done(log, Outcome("judged_success", f"judge failed ({exc}); counted as success", queries=queries))
    _record(job, deps, verdict)
    if verdict.success:
        return _done(log, Outcome("judged_success", verdict.reason or "judge says the task succeeded", queries=queries))
    log.info("judge: task failed (confidence %.2f): %s", verdict.confidence, verdict.reason[:300])

    name, author = parts
    try:
        current = deps.store.current_skill(name, author)
    except StoreError as exc:
        return _done(log, Outcome("store_error", f"skill query failed: {exc}", queries=queries))
    if current is None:
        return _done(log, Outcome("skill_missing", f"{job.skill} is not in the skills table", queries=queries))
    if job.armed_version is not None and current.version > job.armed_version:
        return _done(
            log,
            Outcome(
                "already_improved",
                f"{job.skill} is at v{current.version}, newer than the v{job.armed_version} this session used",
                current.version,
                queries,
            ),
        )

    history = attempts.previous(job.skill)
    try:
        reply = deps.propose(
            prompts.proposer_prompt(job.skill, current.body, window, verdict.reason, history), prompts.PROPOSER_SYSTEM
        )
    except AgentError as exc:
        return _done(log, Outcome("proposer_failed", str(exc), queries=queries))
    edits, problems = parse_edits(reply)
    for problem in problems:
        log.info("proposer: %s", problem)
    result = apply_edits(current.body, edits)
    for edit, why in result.skipped:
        log.info("edit %s skipped: %s", edit.op, why)
    if not result.applied or result.body == current.body:
        return _done(log, Outcome("no_edits", "no applicable edit proposed", queries=queries))
    key = attempts.edit_set_key(result.applied)
    if attempts.seen(job.skill, key):
        return _done(log, Outcome("duplicate", f"edit set {key[:12]} was already proposed", queries=queries))

    return _release(job, deps, current, result.body, result.applied, verdict.reason, queries)


def _record(job: Job, deps: Deps, verdict: Verdict) -> None:
    """Hand one judgment to ``deps.record``; a failure is one log line (a lost outcome never
    stops the improvement)."""
    if deps.record is None:
        return
    try:
        deps.record(job, verdict)
    except Exception as exc:
        deps.log.warning("outcome of %s not recorded: %s: %s", job.skill, type(exc).__name__, str(exc)[:200])


def _version_row(job: Job, deps: Deps, base: SkillRow, body: str, reason: str) -> SkillRow:
    """The next team version on top of ``base``: contributors end with [reacting user, optimizer
    marker], source_sessions += the session, the judge's reason as the description's note."""
    return next_version(
        base,
        deps.now(),
        body=body,
        source_sessions=review.with_session(base.source_sessions, job.session_id),
        source_agent=job.agent,
        contributors=review.ending_with(base.contributors, [_user(job, deps), OPTIMIZER_MARKER]),
        description=with_reason(base.description, reason or "the judge reported a failure"),
    )


def _user(job: Job, deps: Deps) -> str:
    return job.user or deps.identity.user


def _release(
    job: Job,
    deps: Deps,
    base: SkillRow,
    body: str,
    edits: list[Edit],
    reason: str,
    queries: int,
    lost: list[SkillRow] | None = None,
) -> Outcome:
    """Publish ``body`` (``edits`` applied on ``base``) as ``base.version + 1``, or hold it as a
    proposal when the guard objects or review is ``all``; after a publish, settle a publish
    race (point 8). ``lost``: our earlier rows that lost a race (this is a re-publish); they stay
    in the store (append-only) as the losers of their version and are listed in
    ``details["lost_rows"]``."""
    log = deps.log
    gone = _rolled_back_version(deps, base, body)
    if gone is not None:
        attempts.record(job.skill, edits, "duplicate", base.version)
        return _done(
            log,
            Outcome(
                "duplicate",
                f"{job.skill}: the new body is identical to version {gone}, which was rolled back; not published",
                base.version,
                queries,
            ),
        )
    held_by = guard.check(base.body, body, edits)
    if deps.review == "all":
        held_by.append("LAKELOOP_SKILL_REVIEW=all")
    details: dict[str, Any] = {"edits": [e.as_dict() for e in edits]}
    if lost:
        details["lost_rows"] = [r.id for r in lost]
    if held_by:
        proposal = review.proposal_row(
            base, body, edits, reason, held_by, _user(job, deps), job.session_id, deps.now(), job.agent
        )
        try:
            deps.store.insert_skill(proposal)
        except StoreError as exc:
            attempts.record(job.skill, edits, "hold_failed", base.version)
            return _done(log, Outcome("store_error", f"storing the held proposal failed: {exc}", queries=queries))
        attempts.record(job.skill, edits, "held", base.version)
        return _done(
            log,
            Outcome(
                "held",
                f"{job.skill} change to v{base.version} held for review as proposal "
                f"{proposal.id} ({len(edits)} edit(s)); held by: {'; '.join(held_by)}",
                base.version,
                queries,
                {**details, "proposal_id": proposal.id, "held_by": held_by},
            ),
        )
    new = _version_row(job, deps, base, body, reason)
    if deps.before_publish is not None:
        deps.before_publish(new)
    try:
        deps.store.insert_skill(new)
    except StoreError as exc:
        attempts.record(job.skill, edits, "publish_failed", new.version)
        return _done(log, Outcome("store_error", f"publish failed: {exc}", queries=queries))
    winner = _race_winner(deps, new)
    if winner is None:
        status = "republished" if lost else "published"
        attempts.record(job.skill, edits, status, new.version)
        note = f" (re-applied on v{base.version} after losing a publish race)" if lost else ""
        return _done(
            log,
            Outcome(
                status,
                f"{job.skill} v{new.version} published with {len(edits)} edit(s){note}",
                new.version,
                queries,
                details,
            ),
        )
    lost = (lost or []) + [new]
    log.warning(
        "publish race: %s v%d (%s) lost to row %s; now at v%d",
        job.skill,
        new.version,
        new.id,
        winner.id,
        winner.version,
    )
    if (
        winner.version > new.version
        and job.session_id in winner.source_sessions
        and job.session_id not in base.source_sessions
    ):  # built on our row: our edits are in it already
        attempts.record(job.skill, edits, "published", winner.version)
        return _done(
            log,
            Outcome(
                "published",
                f"{job.skill} v{winner.version} already carries this session's edits (published on top of our row)",
                winner.version,
                queries,
                details,
            ),
        )
    if winner.body == new.body:
        attempts.record(job.skill, edits, "duplicate", winner.version)
        return _done(
            log,
            Outcome(
                "duplicate", f"{job.skill} v{winner.version} already has this change", winner.version, queries, details
            ),
        )
    from .versions import publisher

    if publisher(winner).kind == "rollback":  # the version this edit improved was rolled back
        attempts.record(job.skill, edits, "race_lost", winner.version)
        return _done(
            log,
            Outcome(
                "race_lost",
                f"{job.skill}: lost a publish race to v{winner.version}, a rollback of v{base.version}; "
                "edits of a rolled-back version are not re-published",
                winner.version,
                queries,
                details,
            ),
        )
    if len(lost) > MAX_REPUBLISH:
        attempts.record(job.skill, edits, "race_lost", winner.version)
        return _done(
            log,
            Outcome(
                "race_lost",
                f"{job.skill}: lost {len(lost)} publish races in a row; giving up",
                winner.version,
                queries,
                details,
            ),
        )
    rebased = apply_edits(winner.body, edits)
    if rebased.skipped:
        why = "; ".join(f"{e.op}: {r}" for e, r in rebased.skipped)
        attempts.record(job.skill, edits, "race_lost", winner.version)
        return _done(
            log,
            Outcome(
                "race_lost",
                f"{job.skill}: lost a publish race to v{winner.version} and the edits no longer apply to it ({why})",
                winner.version,
                queries,
                details,
            ),
        )
    return _release(job, deps, winner, rebased.body, edits, reason, queries, lost)


def _rolled_back_version(deps: Deps, base: SkillRow, body: str) -> int | None:
    """The version an automatic rollback replaced whose body is ``body``, else None. The skill's
    rows are read (one query) only when ``base``'s contributors name the rollback marker: they are
    append-only, so a skill that never had a rollback needs no read. A failed read is logged and
    counts as None (the guard and the publish go on)."""
    from .versions import ROLLBACK, body_sha, rolled_back, team_rows

    if ROLLBACK not in base.contributors:
        return None
    try:
        rows = team_rows(deps.store, base.name, base.author)
    except StoreError as exc:
        deps.log.warning("rolled-back versions of %s not read: %s", base.ref, exc)
        return None
    return rolled_back(rows).get(body_sha(body))


def _race_wait(deps: Deps) -> float:
    if deps.race_wait_s is not None:
        return max(0.0, deps.race_wait_s)
    wait = getattr(deps.store, "visibility_wait_s", 0.0)
    return max(0.0, float(wait)) if isinstance(wait, (int, float)) else 0.0


def _race_winner(deps: Deps, new: SkillRow) -> SkillRow | None:
    """After inserting ``new``: the winning row when a rival of the same version beats it, else
    None (``skillopt.race.winner_after_insert`` with ``deps``' store, reads, sleep and wait)."""
    from .race import winner_after_insert

    return winner_after_insert(deps.store, new, _race_wait(deps), deps.race_reads, deps.sleep, deps.log)


def _done(log: logging.Logger, outcome: Outcome) -> Outcome:
    level = (
        logging.WARNING
        if outcome.status in ("store_error", "bad_job", "proposer_failed", "race_lost")
        else logging.INFO
    )
    log.log(level, "worker outcome=%s queries=%d: %s", outcome.status, outcome.queries, outcome.reason)
    return outcome
