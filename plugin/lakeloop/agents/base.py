"""The per-agent interface: what lakeloop needs to know about one coding agent CLI.

Every agent lakeloop serves (Claude Code, Codex CLI, Gemini CLI) is one module of this package
with one :class:`Agent` subclass. The rest of lakeloop speaks the **canonical** vocabulary, which
is Claude Code's: hook events ``SessionStart``, ``UserPromptSubmit``, ``PreToolUse``,
``PostToolUse``, ``Stop``, ``SubagentStop``, ``SessionEnd``; tools ``Bash{command}``,
``Read{file_path}``, ``Skill{skill}`` ...; payload keys ``tool_name``, ``tool_input``,
``tool_response``, ``prompt``, ``last_assistant_message``. An agent module translates its
native events and payloads to that vocabulary (:meth:`Agent.canonical_payload`), translates
lakeloop's Claude-shaped hook answers back to its own shape (:meth:`Agent.pre_tool_output`,
:meth:`Agent.session_start_output`), installs its hooks into the agent's own config
(:meth:`Agent.install`), and runs the tool-less model calls of the judge, proposer and
summariser through the agent's CLI (:meth:`Agent.model_call`).

How an agent reaches a hook process: the installed hook command carries the canonical event as
its first argument and the agent's :attr:`Agent.name` as its second
(``'<launcher>' PostToolUse codex``); Claude Code's own ``hooks/hooks.json`` passes no second
argument, so the agent is ``claude``. Capture events are spooled raw with the agent recorded in
the outbox entry's settings header (field ``agent``, written from that argument only, never
from the environment; left out for ``claude``); the drainer normalises them. Parsed events
(PreToolUse, SessionStart, SessionEnd) are normalised in the hook, which keeps the native dict
under ``payload[NATIVE_KEY]`` and the agent's name under ``payload[AGENT_KEY]``. Jobs (skill
reactions, summaries) carry the rows' agent value under the job payload key ``"agent"``.

A fourth agent is one more module here, named in ``lakeloop.agents.NAMES``.

This module and the agent modules import only the standard library and lakeloop's foundations
at module level (they are imported in hook processes); anything heavy loads inside a method.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from .reports import AgentStatus, InstallReport

#: payload key holding the agent's name after normalisation in the hook process
AGENT_KEY = "_lakeloop_agent"
#: payload key holding the native (un-normalised) payload dict in the hook process
NATIVE_KEY = "_lakeloop_native"
#: job payload key holding the rows' agent value (``Agent.row_agent``) of the job's session
JOB_AGENT_KEY = "agent"
#: the outbox entry's settings-header field naming the agent (absent means ``claude``); lower case,
#: so it can never be taken for a recorded environment variable
OUTBOX_AGENT_FIELD = "agent"

#: model-call roles (``Agent.model_call``)
ROLES = ("judge", "proposer", "summary")


class Agent:
    """One coding agent CLI. Subclasses set the class attributes and implement the methods.

    Class attributes:

    * ``name``: the CLI argument and the hook command's second argument (``"codex"``).
    * ``row_agent``: the value of the rows' ``agent`` column (``"claude_code"`` for Claude Code,
      unchanged from earlier versions; ``"codex"``; ``"gemini"``).
    * ``display``: the product's name for messages (``"Codex CLI"``).
    * ``events``: native hook event -> canonical event, for the events lakeloop installs.
    * ``ignored_events``: native events lakeloop knows and never installs; a hook wired to one by
      hand exits 0 without doing anything.
    * ``bin_env``: the setting naming the binary (``LAKELOOP_CODEX_BIN``).
    """

    name: str = ""
    row_agent: str = ""
    display: str = ""
    events: dict[str, str] = {}
    ignored_events: frozenset[str] = frozenset()
    bin_env: str = ""

    # -- event names ---------------------------------------------------------------------------

    def native_event(self, canonical: str) -> str:
        """The native event name whose canonical name is ``canonical`` (the name the agent puts in
        the payload's ``hook_event_name``). Returns ``canonical`` when no mapping names it."""
        for native, canon in self.events.items():
            if canon == canonical:
                return native
        return canonical

    # -- hook process and drainer (capture helper) ------------------------------------------

    def canonical_payload(self, canonical_event: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Native payload -> Claude-shaped payload for ``canonical_event`` (a new dict; the input
        is not changed). Runs in the hook (PreToolUse, SessionStart, SessionEnd) and in the
        drainer (capture events). Never raises on odd shapes: unknown or ill-typed fields are
        passed through as they are, and the caller's validation logs them."""
        raise NotImplementedError

    def pre_tool_output(self, decision: dict[str, Any], native_payload: dict[str, Any]) -> dict[str, Any]:
        """``lakeloop.memory.answer``'s Claude-shaped PreToolUse answer (``{"hookSpecificOutput":
        {"permissionDecision": "allow"|"deny", "updatedInput"?, "permissionDecisionReason"?}}``)
        -> the object this agent reads on the hook's stdout. Must keep the fail-closed rule:
        when the agent cannot express an allow with a rewritten input for ``native_payload``'s
        tool, the result is a deny (with the answer text as the reason where that helps)."""
        raise NotImplementedError

    def session_start_output(self, system_message: str, context: str) -> dict[str, Any]:
        """SessionStart's stdout object: ``system_message`` is shown to the user only (empty: left
        out), ``context`` reaches the model (empty: left out). Returns ``{}`` when both are empty."""
        raise NotImplementedError

    # -- skills (skill-loop helper) --------------------------------------------------------------

    def skills_dir(self) -> Path:
        """Where team skills are pulled for this agent (one folder per ref holding ``SKILL.md``)."""
        raise NotImplementedError

    def skill_text(self, ref: str, body: str) -> str:
        """The ``SKILL.md`` text written for a pulled skill ``ref`` whose stored body is ``body``.
        Claude Code: ``body`` unchanged. Agents that find skills by their front-matter ``name``:
        the front matter's ``name`` set to ``ref``."""
        raise NotImplementedError

    def model_call(self, prompt: str, system: str, role: str, timeout_s: float, env: dict[str, str]) -> str:
        """One tool-less, non-interactive model turn through this agent's CLI; returns the reply
        text. ``role`` is one of ``ROLES`` (it picks the model setting); ``timeout_s`` is the wall
        clock bound in seconds; ``env`` is the child's whole environment (``detach.worker_env()``:
        ``LAKELOOP_WORKER=1``, so the run is never captured). The prompt goes on stdin, never in
        argv. Raises ``lakeloop.errors.AgentError`` when the binary is missing, times out, exits
        non-zero or prints no reply (messages hold at most 200 characters of output)."""
        raise NotImplementedError

    # -- install and status (install helper) -----------------------------------------------------

    def find_binary(self) -> str | None:
        """The agent's binary: ``bin_env`` when set, else the name on PATH, else the usual
        install places; None when none is found."""
        raise NotImplementedError

    def version(self, binary: str) -> str | None:
        """``binary --version`` parsed to the bare version (``"0.169.0"``), bounded to 10 s; None
        when it fails."""
        raise NotImplementedError

    def install(self, launcher: str) -> InstallReport:
        """Install lakeloop's hooks into this agent's config, each hook running ``launcher``
        (an absolute path) with the canonical event and ``name``. Idempotent. Keeps every entry
        lakeloop did not add byte for byte and writes a backup before the first change. Raises
        ``lakeloop.errors.InstallRefused`` (nothing written) when a config file is not valid
        JSON/TOML or its shape is not the one expected."""
        raise NotImplementedError

    def uninstall(self) -> InstallReport:
        """Remove exactly what ``install`` added. Idempotent. Raises ``InstallRefused`` (nothing
        written) on an invalid config file."""
        raise NotImplementedError

    def status(self, probe: bool = True) -> AgentStatus:
        """This agent's binary, version, and whether lakeloop's hooks are installed, trusted and
        active. ``probe``: also ask the agent's own CLI where that is slower (Codex's app-server
        for trust, ``claude plugin list``); False reads local files only. Writes nothing; every
        subprocess is bounded."""
        raise NotImplementedError
