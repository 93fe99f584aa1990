"""Settings read from the environment, one function per setting.

Every ``LAKELOOP_*`` variable the plugin understands is read here, so the
README's table of variables can be checked against one file. Functions are
cheap (no I/O) and are called at the point of use, so tests can set variables
per test. A numeric setting that is empty, unreadable, not finite or negative means
its default; a number outside the setting's range is clamped into it (``_number``).
"""

from __future__ import annotations

import math
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    from collections.abc import Mapping

#: Marks every process the skill optimizer starts (the worker and the judge's
#: and proposer's own agent sessions). Hooks that see it neither capture, arm
#: nor react: the recursion guard of docs/skill-loop.md.
WORKER_ENV = "LAKELOOP_WORKER"


def _number(raw: str, parse: type[int] | type[float], default: float, minimum: float, maximum: float | None) -> float:
    """``raw`` read by ``parse`` and clamped into ``[minimum, maximum]``; ``default`` when it is
    empty, unreadable, not finite (``nan``, ``inf``, ``1e400``) or negative (no setting here means
    anything by a sign: a negative value is a typo, not "as little as possible"). The one place
    every numeric setting is parsed."""
    try:
        value = parse(raw) if raw else None
    except ValueError:
        return default
    if value is None or value < 0 or (isinstance(value, float) and not math.isfinite(value)):
        return default
    value = max(minimum, value)
    return value if maximum is None else min(maximum, value)


def _int(name: str, default: int, minimum: int = 0, env: Mapping[str, str] | None = None) -> int:
    raw = (os.environ if env is None else env).get(name, "").strip()
    return int(_number(raw, int, default, minimum, None))


def _float(
    name: str, default: float, minimum: float = 0.0, env: Mapping[str, str] | None = None, maximum: float | None = None
) -> float:
    raw = (os.environ if env is None else env).get(name, "").strip()
    return float(_number(raw, float, default, minimum, maximum))


def _flag(name: str, default: bool, env: Mapping[str, str] | None = None) -> bool:
    raw = (os.environ if env is None else env).get(name, "").strip().lower()
    if not raw:
        return default
    return raw not in ("0", "false", "no", "off")


# The four capture settings below take ``env``: the environment to read (default: this
# process's). The drainer passes the one the capturing hook recorded in the outbox entry
# (``lakeloop.outbox.spool``), so a session's settings apply to its own events only.


def capture_enabled(env: Mapping[str, str] | None = None) -> bool:
    """``LAKELOOP_CAPTURE`` (default on); ``0`` turns capture off."""
    return _flag("LAKELOOP_CAPTURE", True, env)


def redact_enabled(env: Mapping[str, str] | None = None) -> bool:
    """``LAKELOOP_REDACT`` (default on): secrets in captured events are replaced by
    ``[REDACTED:<kind>]`` before a row is stored (``lakeloop.redact``); ``0`` stores
    them verbatim."""
    return _flag("LAKELOOP_REDACT", True, env)


def redact_patterns(env: Mapping[str, str] | None = None) -> list[str]:
    """``LAKELOOP_REDACT_PATTERNS``: extra regular expressions (Python ``re`` syntax), one per
    line, whose matches are redacted as kind ``custom``. Blank lines are ignored; a regex that
    does not compile is logged (never its text) and ignored (``lakeloop.redact.patterns``)."""
    raw = (os.environ if env is None else env).get("LAKELOOP_REDACT_PATTERNS", "")
    return [line for line in raw.splitlines() if line.strip()]


def capture_exclude(env: Mapping[str, str] | None = None) -> list[str]:
    """``LAKELOOP_EXCLUDE``: ``:``-separated path globs (``~`` expanded, ``fnmatch`` rules, so
    ``*`` also matches ``/``); a session whose working directory, or a directory above it,
    matches one is not captured (``lakeloop.redact.exclude``). Empty by default.
    A leading ``~`` or ``~/`` is ``env``'s ``HOME`` when it has one (``~user`` is looked up)."""
    source = os.environ if env is None else env
    home = source.get("HOME") if env is not None else None
    out = []
    for part in source.get("LAKELOOP_EXCLUDE", "").split(":"):
        part = part.strip()
        if not part:
            continue
        if home and (part == "~" or part.startswith("~/")):
            out.append(home.rstrip("/") + part[1:] if part != "~" else home)
        else:
            out.append(os.path.expanduser(part))
    return out


def outbox_max_mb() -> int:
    """``LAKELOOP_OUTBOX_MAX_MB``: size cap of the local outbox (waiting plus failed entries), MiB
    (default 256). Past it, new capture events are dropped, counted and logged."""
    return _int("LAKELOOP_OUTBOX_MAX_MB", 256, minimum=1)


def drain_linger_s() -> float:
    """``LAKELOOP_DRAIN_LINGER_S``: how long an idle drainer waits for new events before it exits,
    seconds (default 3). It watches only the local outbox while it waits."""
    return _float("LAKELOOP_DRAIN_LINGER_S", 3.0)


def debug() -> bool:
    """``LAKELOOP_DEBUG=1`` logs at DEBUG level instead of INFO."""
    return _flag("LAKELOOP_DEBUG", False)


def in_worker() -> bool:
    """True inside a process started by the skill optimizer (recursion guard)."""
    return _flag(WORKER_ENV, False)


def judge_window() -> int:
    """``LAKELOOP_JUDGE_WINDOW``: user messages a judgment window stays open (K, default 3)."""
    return _int("LAKELOOP_JUDGE_WINDOW", 3, minimum=1)


def invocation_backoff_s() -> float:
    """``LAKELOOP_INVOCATION_BACKOFF_S``: base of the invocation poll's linear backoff,
    in seconds (default 3.0; sleep = base x attempt; seed 000)."""
    return _float("LAKELOOP_INVOCATION_BACKOFF_S", 3.0)


def judge_model() -> str:
    """``LAKELOOP_JUDGE_MODEL``: model for the judge (cheap; default ``haiku``)."""
    return os.environ.get("LAKELOOP_JUDGE_MODEL", "").strip() or "haiku"


def proposer_model() -> str:
    """``LAKELOOP_PROPOSER_MODEL``: model for the proposer (capable; default ``sonnet``)."""
    return os.environ.get("LAKELOOP_PROPOSER_MODEL", "").strip() or "sonnet"


def judge_min_confidence() -> float:
    """``LAKELOOP_JUDGE_MIN_CONFIDENCE``: a failure verdict below this confidence (0..1) counts as
    success (default 0.5): a hesitant judge never changes a skill."""
    return _float("LAKELOOP_JUDGE_MIN_CONFIDENCE", 0.5, maximum=1.0)


def skill_review() -> str:
    """``LAKELOOP_SKILL_REVIEW``: ``auto`` (default: plain optimizer changes are published, risky
    ones held as proposals) or ``all`` (every optimizer change is held for a person to accept).
    Any other value reads as ``all``: a mistyped setting fails closed."""
    raw = os.environ.get("LAKELOOP_SKILL_REVIEW", "").strip().lower()
    return "auto" if raw in ("", "auto") else "all"


def auto_rollback() -> bool:
    """``LAKELOOP_AUTO_ROLLBACK`` (default on): the ``outcomes`` job rolls a team skill's current
    version back by itself when its failure rate is higher than the previous version's with
    confidence (docs/skill-loop.md, "Automatic rollback"); ``0``: outcomes are still recorded,
    nothing is rolled back by itself."""
    return _flag("LAKELOOP_AUTO_ROLLBACK", True)


def rollback_min_uses() -> int:
    """``LAKELOOP_ROLLBACK_MIN_USES``: judged or no-pushback uses the current version needs before
    it can be rolled back by itself (default 10, at least 2)."""
    return _int("LAKELOOP_ROLLBACK_MIN_USES", 10, minimum=2)


def skillify_every_hours() -> float:
    """``LAKELOOP_SKILLIFY_EVERY_HOURS``: at most one skill-mining (``skillify``) run per this many
    hours on this machine, enqueued at SessionEnd (default 24.0, a decimal number); ``0`` turns
    skillify off."""
    return _float("LAKELOOP_SKILLIFY_EVERY_HOURS", 24.0)


def skillify_min_sessions() -> int:
    """``LAKELOOP_SKILLIFY_MIN_SESSIONS``: how many of the user's recent sessions must repeat a
    procedure before it is drafted as a new skill (default 3, at least 2)."""
    return _int("LAKELOOP_SKILLIFY_MIN_SESSIONS", 3, minimum=2)


def agent_timeout_s() -> float:
    """``LAKELOOP_AGENT_TIMEOUT_S``: wall-clock bound on one judge/proposer call (default 180 s)."""
    return _float("LAKELOOP_AGENT_TIMEOUT_S", 180.0, minimum=1.0)


# Background jobs and session summaries --------------------------------------
# The summary triggers take ``env`` like the capture settings: the drainer passes the capturing
# session's recorded environment, so a session's own settings decide whether it is summarised.


#: Longest linger of an idle job runner (seconds): a runner never idles longer than this.
MAX_JOBS_LINGER_S = 300.0
#: Longest pause of a job's backoff schedule (seconds): one day.
MAX_JOBS_BACKOFF_S = 86400.0


def jobs_linger_s() -> float:
    """``LAKELOOP_JOBS_LINGER_S``: how long an idle job runner waits for a new job before it exits,
    seconds (default 5, at most ``MAX_JOBS_LINGER_S``). It waits on a local FIFO and never touches
    the store while it waits."""
    return _float("LAKELOOP_JOBS_LINGER_S", 5.0, maximum=MAX_JOBS_LINGER_S)


def jobs_lease_s() -> float:
    """``LAKELOOP_JOBS_LEASE_S``: a running job's lease, seconds (default 45, clamped to 3..60). The
    runner renews it every third of that, so a dead runner's job is taken again within 60 s."""
    return _float("LAKELOOP_JOBS_LEASE_S", 45.0, minimum=3.0, maximum=60.0)


def jobs_backoff_s() -> tuple[float, ...]:
    """``LAKELOOP_JOBS_BACKOFF_S``: pauses before the 2nd, 3rd, ... attempt of a failed job,
    seconds, comma-separated (default ``60,300,1800,7200``; each clamped to 1..``MAX_JOBS_BACKOFF_S``;
    the last repeats). A value with an unreadable, non-finite or negative entry means the default."""
    default = (60.0, 300.0, 1800.0, 7200.0)
    raw = os.environ.get("LAKELOOP_JOBS_BACKOFF_S", "").strip()
    if not raw:
        return default
    unusable = -1.0  # what _number gives an entry that is not a usable number
    values = tuple(_number(part.strip(), float, unusable, 1.0, MAX_JOBS_BACKOFF_S) for part in raw.split(","))
    return default if unusable in values else values


def ui_cache_s(env: Mapping[str, str] | None = None) -> float:
    """``LAKELOOP_UI_CACHE_S``: seconds the dashboard (``lakeloop ui``) reuses a store query's
    answer (default 5, 0 to 60; 0 sends every query)."""
    return _float("LAKELOOP_UI_CACHE_S", 5.0, env=env, maximum=60.0)


def summaries_enabled(env: Mapping[str, str] | None = None) -> bool:
    """``LAKELOOP_SUMMARIES`` (default on): captured sessions are condensed into a summary in the
    team memory; ``0`` makes none (others' summaries are still read)."""
    return _flag("LAKELOOP_SUMMARIES", True, env)


def summary_every_n(env: Mapping[str, str] | None = None) -> int:
    """``LAKELOOP_SUMMARY_EVERY_N``: captured messages of a session after which its summary is
    refreshed mid-session (default 50, at least 1)."""
    return _int("LAKELOOP_SUMMARY_EVERY_N", 50, minimum=1, env=env)


def summary_every_hours(env: Mapping[str, str] | None = None) -> float:
    """``LAKELOOP_SUMMARY_EVERY_HOURS``: hours after which a running session's summary is
    refreshed when new messages were captured (default 2)."""
    return _float("LAKELOOP_SUMMARY_EVERY_HOURS", 2.0, minimum=0.0, env=env)


def summary_min_prompts(env: Mapping[str, str] | None = None) -> int:
    """``LAKELOOP_SUMMARY_MIN_PROMPTS``: sessions with fewer user prompts are not summarised
    (default 2)."""
    return _int("LAKELOOP_SUMMARY_MIN_PROMPTS", 2, env=env)


def summary_input_chars() -> int:
    """``LAKELOOP_SUMMARY_INPUT_CHARS``: most characters of session text sent to the summariser in
    one call (default 24,000, at least 2,000); a longer session keeps its start and end."""
    return _int("LAKELOOP_SUMMARY_INPUT_CHARS", 24_000, minimum=2_000)


def summary_model() -> str:
    """``LAKELOOP_SUMMARY_MODEL``: model that writes session summaries (default ``haiku``)."""
    return os.environ.get("LAKELOOP_SUMMARY_MODEL", "").strip() or "haiku"


def codex_model() -> str:
    """``LAKELOOP_CODEX_MODEL``: the model ``codex exec`` uses for the judge, proposer and
    summaries of Codex CLI sessions (default empty: Codex's own configured model)."""
    return os.environ.get("LAKELOOP_CODEX_MODEL", "").strip()


def gemini_model() -> str:
    """``LAKELOOP_GEMINI_MODEL``: the model ``gemini -p`` uses for the judge, proposer and
    summaries of Gemini CLI sessions (default empty: Gemini's own configured model)."""
    return os.environ.get("LAKELOOP_GEMINI_MODEL", "").strip()


def summary_max_per_day() -> int:
    """``LAKELOOP_SUMMARY_MAX_PER_DAY``: most summary model runs per machine per UTC day
    (default 50)."""
    return _int("LAKELOOP_SUMMARY_MAX_PER_DAY", 50)


def context_chars() -> int:
    """``LAKELOOP_CONTEXT_CHARS``: most characters SessionStart adds to the agent's context in all,
    the memory-path note and the recent team summaries together (default 2,000)."""
    return _int("LAKELOOP_CONTEXT_CHARS", 2_000)


#: The variables ``getpass.getuser`` reads a login name from, in its order (the first set and
#: non-empty wins; then the password database). The capture hook records them in its outbox entry
#: (``lakeloop.outbox.spool.RECORDED_SETTINGS``), so a row's author is the capturing session's.
LOGIN_NAME_VARIABLES = ("LOGNAME", "USER", "LNAME", "USERNAME")


def user_name(env: Mapping[str, str] | None = None) -> str:
    """The author recorded on rows: ``LAKELOOP_USER`` (stripped), else the login name as
    ``getpass.getuser`` finds it (``LOGIN_NAME_VARIABLES``, then this process's password-database
    entry), else ``unknown``. ``env``: the environment to read (default: this process's; the
    drainer passes the one the capturing hook recorded)."""
    source = os.environ if env is None else env
    name = source.get("LAKELOOP_USER", "").strip()
    if name:
        return name
    for variable in LOGIN_NAME_VARIABLES:
        name = source.get(variable, "")
        if name:
            return name
    try:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name or "unknown"
    except Exception:  # no pwd module (Windows), no passwd entry in some containers
        return "unknown"


# Deeplake ------------------------------------------------------------------


def store_kind() -> str:
    """``LAKELOOP_STORE``: ``deeplake``, ``embedded``, or empty for automatic (Deeplake when
    credentials are found, else embedded)."""
    return os.environ.get("LAKELOOP_STORE", "").strip().lower()


def deeplake_connect_timeout_s() -> float:
    """``LAKELOOP_DEEPLAKE_CONNECT_TIMEOUT_S``: connect timeout, seconds (default 3)."""
    return _float("LAKELOOP_DEEPLAKE_CONNECT_TIMEOUT_S", 3.0, minimum=0.05)


def deeplake_read_timeout_s() -> float:
    """``LAKELOOP_DEEPLAKE_READ_TIMEOUT_S``: read (and write) timeout, seconds (default 7;
    with the connect timeout, 10 s in all, the reference client's request timeout)."""
    return _float("LAKELOOP_DEEPLAKE_READ_TIMEOUT_S", 7.0, minimum=0.05)


def deeplake_max_retries() -> int:
    """``LAKELOOP_DEEPLAKE_RETRIES``: retries after the first attempt (default 3; seed 003)."""
    return _int("LAKELOOP_DEEPLAKE_RETRIES", 3)


def deeplake_max_in_flight() -> int:
    """``LAKELOOP_DEEPLAKE_MAX_IN_FLIGHT``: requests in flight per process (default 5; seed 003)."""
    return _int("LAKELOOP_DEEPLAKE_MAX_IN_FLIGHT", 5, minimum=1)


def deeplake_machine_max_in_flight() -> int:
    """``LAKELOOP_DEEPLAKE_MACHINE_MAX_IN_FLIGHT``: requests in flight across every lakeloop
    process on the machine (default 8; 0 disables the machine-wide bound)."""
    return _int("LAKELOOP_DEEPLAKE_MACHINE_MAX_IN_FLIGHT", 8)


def deeplake_slot_wait_s() -> float:
    """``LAKELOOP_DEEPLAKE_SLOT_WAIT_S``: longest wait for a request slot, seconds (default 5,
    inside the hooks' 10 s timeout)."""
    return _float("LAKELOOP_DEEPLAKE_SLOT_WAIT_S", 5.0)


def deeplake_retry_after_cap_s() -> float:
    """``LAKELOOP_DEEPLAKE_RETRY_AFTER_CAP_S``: longest ``Retry-After`` honoured, seconds (default 5)."""
    return _float("LAKELOOP_DEEPLAKE_RETRY_AFTER_CAP_S", 5.0)


def deeplake_visibility_wait_s() -> float:
    """``LAKELOOP_DEEPLAKE_VISIBILITY_WAIT_S``: how long to wait, after an INSERT whose outcome is
    unknown, before looking its ids up, seconds (default 5): a row committed moments ago may not be
    visible yet (docs/deeplake-store.md, visibility lag), and a lookup too early would send it twice."""
    return _float("LAKELOOP_DEEPLAKE_VISIBILITY_WAIT_S", 5.0)


def sessions_table() -> str:
    """``LAKELOOP_SESSIONS_TABLE`` (default ``sessions``)."""
    return os.environ.get("LAKELOOP_SESSIONS_TABLE", "").strip() or "sessions"


def skills_table() -> str:
    """``LAKELOOP_SKILLS_TABLE`` (default ``skills``)."""
    return os.environ.get("LAKELOOP_SKILLS_TABLE", "").strip() or "skills"


def memory_table() -> str:
    """``LAKELOOP_MEMORY_TABLE`` (default ``memory``)."""
    return os.environ.get("LAKELOOP_MEMORY_TABLE", "").strip() or "memory"
