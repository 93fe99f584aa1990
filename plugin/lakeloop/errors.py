"""The exception hierarchy.

::

    LakeloopError
    ├── StoreError                 a store operation failed (the worker ends its run)
    │   ├── StoreUnavailable       the store cannot be opened at all
    │   └── DeeplakeError          the Deeplake tables API failed (.status, .body)
    │       ├── TransientError     worth retrying: 429, 500, 502, 503, 504
    │       │   ├── NetworkError   connect/read/protocol failure or timeout (no response)
    │       │   ├── SlotTimeout    no free request slot within the wait budget (not retried)
    │       │   └── OutcomeUnknown a non-idempotent request (an INSERT) may or may not have
    │       │                      been applied: 5xx, or the connection failed after sending
    │       └── PermanentError     retrying cannot help
    │           ├── PaymentRequired  402: the organisation is out of credits
    │           ├── AuthError        401 / 403
    │           ├── AlreadyExists    500 saying something "already exists"
    │           └── store.deeplake.DeeplakeStatementRefused  the service cannot run a statement
    ├── AgentError                 the user's agent CLI could not be run or failed
    ├── jobs.JobError              what a job kind raises to steer the queue
    │   ├── jobs.RetryLater        run again later, no attempt spent
    │   ├── jobs.JobFailed         fail now with a reason
    │   └── jobs.JobsUnavailable   the local queue database cannot be used
    ├── cli.skills_history.PinsNotWritten  this machine's pins file could not be written
    ├── RequestRefused             what a person asked for was refused (a command exits 2)
    │   ├── skillopt.publish.SkillPushRefused  a skill push (unreadable, unsafe name, misattributed)
    │   ├── skillopt.review.ReviewError        a proposal review (unknown, ambiguous, stale)
    │   ├── cli.skills_history.BadSkillRef     a malformed or unknown skill ref or version
    │   └── deeplake.sql.IdentifierRefused     a table or column name (a setting) that is not a
    │                                          plain SQL identifier (also a ValueError)
    ├── skillopt.drafts.DraftError  a drafted new skill is not usable (also a ValueError)
    ├── boundedjson.PayloadError   a hook payload outside the JSON bounds (also a ValueError)
    ├── records.FrozenInstanceError  assignment to a frozen record (also an AttributeError)
    ├── outbox.spool.OutboxFull    the outbox is over its size cap (also an OSError)
    ├── locks.LockTimeout          a file lock stayed held past its wait (also a TimeoutError)
    ├── deeplake.lite._NotSent / _SentUnanswered  internal: where a connection failed
    └── MemoryRefused              the memory path refused a tool call (below)

Classes raised by one module live in it; the tree above is the map. ``exit_code`` is the status a
``lakeloop`` command ends with when the error stops it (``cli.error_handler``): 1, or 2 for a
``RequestRefused``.

Messages and ``body`` never hold the token: bodies are trimmed to 300
characters and passed through ``lakeloop.log.redact``.
"""

from __future__ import annotations

BODY_LIMIT = 300


class LakeloopError(Exception):
    """Base of every error lakeloop raises on purpose. Its message is ours: one readable
    sentence with no secret, fit to show a person (``cli.error_handler`` prints it)."""

    #: Exit status of a ``lakeloop`` command that this error ends.
    exit_code = 1


class StoreError(LakeloopError):
    """A query or insert against the store failed. Messages never hold secrets."""


class StoreUnavailable(StoreError):
    """The store could not be opened (bad path, corrupt file, no credentials)."""


class DeeplakeError(StoreError):
    """A Deeplake API call failed. ``status`` is the HTTP status (None when no
    response arrived); ``body`` is the response body, trimmed and redacted."""

    def __init__(self, message: str, status: int | None = None, body: str = "") -> None:
        from .log import redact

        self.status = status
        self.body = redact(body[:BODY_LIMIT])
        detail = f" (HTTP {status})" if status is not None else ""
        super().__init__(redact(f"{message}{detail}" + (f": {self.body}" if self.body else "")))


class TransientError(DeeplakeError):
    """A failure that a later attempt may not meet (rate limit, server or network trouble)."""


class NetworkError(TransientError):
    """No response: connection refused or reset, DNS, protocol error or timeout."""


class SlotTimeout(TransientError):
    """No request slot (per process or machine-wide) freed up within the wait budget."""


class OutcomeUnknown(TransientError):
    """A non-idempotent request (an INSERT) was sent but its outcome is unknown: the service
    answered 5xx, or the connection failed after the request went out. The caller must look
    up what was applied before sending it again (never retried blindly)."""


class PermanentError(DeeplakeError):
    """A failure retrying cannot fix (bad SQL, auth, payment)."""


class PaymentRequired(PermanentError):
    """HTTP 402: the organisation is out of credits (body mentions ``balance_cents``)."""


class AuthError(PermanentError):
    """HTTP 401 or 403 that is not one of the transient kinds."""


class AlreadyExists(PermanentError):
    """HTTP 500 whose body says a table, index or column already exists (deterministic)."""


class AgentError(LakeloopError):
    """The agent CLI used for the judge or proposer is missing, timed out or failed."""


class RequestRefused(LakeloopError):
    """What a person asked for was refused: bad input (a malformed ref, an unknown version, an
    unreadable skill directory) or an action the rules forbid (publishing under another author).
    The message says what and, where it helps, what to do instead. A command ends with exit 2."""

    exit_code = 2


class InstallRefused(RequestRefused):
    """``lakeloop install``/``uninstall`` refused to touch an agent's config: a config file is not
    valid JSON/TOML, its shape is not the one expected, or the agent's binary is missing. Nothing
    was written. The message names the file and what to fix. Exit 2."""


# the memory path ------------------------------------------------------------------------------
# MemoryRefused's sub-classes live next to the code that raises them (this module imports
# nothing at module level, so the memory modules import it freely on hook paths):
#
#   MemoryRefused
#   ├── memory.bash.syntax.CommandRefused   a Bash command on the memory path not accepted (.reason)
#   ├── memory.paths.PathRefused            a tool's path into the memory path not accepted
#   ├── memory.notes.NoteRefused            a note not stored (read-only path, too large)
#   ├── memory.grep_pattern.PatternError    a grep pattern GNU grep refuses (GNU's message)
#   └── memory.answer.AnswerDenied          a memory-path tool call denied (the reason shown)


class MemoryRefused(LakeloopError):
    """The memory path (``lakeloop.memory``) refused a tool call or one of its parts.

    ``str()`` is one line for the agent: what was refused and, where it helps, what to do
    instead (the PreToolUse answer turns it into a deny reason)."""
