"""Team memory (the memory path) end to end on the real Claude Code (npm, pinned), offline against a scripted model.

The plugin is installed into the test's HOME from this checkout (``claude plugin marketplace
add`` + ``install``), on the embedded store. Session 1: the user mentions a unique term; its
events are captured (spooled by the hooks, stored by the detached drainer). Session 2: the
scripted model reads team memory through the memory path: Grep on the memory root, then
``Bash: grep -rn TERM ~/.deeplake/memory | head``, then Read of session 1's file, then writes
a note with ``echo ... >>`` and reads it back with ``cat``. Every tool_result Claude Code sends
back to the model must hold the term and not be an error. The SessionStart additionalContext
about the memory path reaches the model's first request of a session, and a resumed session
is not given it a second time.
"""

from __future__ import annotations

import json

from lakeloop import paths
from lakeloop.identity import Identity
from lakeloop.store.embedded import EmbeddedStore
from tests.support.claude_code import install_plugin, offline_env
from tests.support.fake_anthropic import FakeAnthropic, Reply, is_main_agent, last_user_text, session_id, tool_results
from tests.support.waiting import wait_until

TERM = "zebracorn-7431"
TERM2 = "okapiflux-2718"
REMEMBER = f"Please remember that the launch codename is {TERM}."
RECALL = "What was the launch codename? Look it up in team memory."
THANKS = "thanks, that is all"
CONTEXT_MARK = "SessionStart hook additional context:"


def result_text(block: dict) -> str:
    """A tool_result block's content as one string."""
    content = block.get("content")
    if isinstance(content, list):
        return "\n".join(b.get("text", "") for b in content if isinstance(b, dict))
    return str(content or "")


class Model:
    """Session 1: acknowledges. Session 2: runs ``steps`` (set once session 1's path is known)
    one per turn, then answers. Any other prompt: a short text. Records every tool_result."""

    def __init__(self) -> None:
        self.steps: list[Reply] = []
        self.results: dict[str, dict] = {}

    def __call__(self, request: dict) -> Reply:
        if not is_main_agent(request):
            return Reply.text("ok")
        results = tool_results(request)
        if results:
            for block in results:
                self.results[block.get("tool_use_id", "")] = block
            done = sum(
                1
                for m in request.get("messages", [])
                if m.get("role") == "assistant"
                for b in (m.get("content") if isinstance(m.get("content"), list) else [])
                if isinstance(b, dict) and b.get("type") == "tool_use"
            )
            return self.steps[done] if done < len(self.steps) else Reply.text(f"The codename is {TERM}.")
        if RECALL in last_user_text(request) and self.steps:
            return self.steps[0]
        return Reply.text("Noted.")


def test_recall_through_the_memory_path_on_real_claude_code(claude_bin, tmp_path, isolated_env):
    home = tmp_path / "home"
    project = tmp_path / "project"
    project.mkdir()
    (home / ".claude").mkdir(parents=True)
    root = f"{home}/.deeplake/memory"
    model = Model()
    with FakeAnthropic(model) as api:
        env = offline_env(home, api.base_url)
        install_plugin(claude_bin, env, project)

        def claude(prompt: str, *extra: str) -> dict:
            from tests.support.claude_code import run_turn

            return run_turn(claude_bin, prompt, env, project, "Bash,Read,Grep,Glob", *extra, timeout=180)

        # Session 1: the user mentions the term; wait until the store holds the row.
        sid1 = claude(REMEMBER)["session_id"]
        vpath = Identity("tester").session_path(sid1)

        def stored() -> bool:
            if not paths.store_file().exists():
                return False
            with EmbeddedStore(paths.store_file()) as store:
                return any(TERM in json.dumps(r.message) for r in store.session_rows(vpath))

        wait_until(stored, 60, f"session 1's row holding {TERM}")

        # Session 2: Grep, Bash grep, Read of the session file, a note written and read back.
        note = "~/.deeplake/memory/notes/e2e.md"
        model.steps = [
            Reply.tool_use(
                "Grep", {"pattern": TERM, "path": root, "output_mode": "content", "-n": True}, id="toolu_mem_1_grep"
            ),
            Reply.tool_use(
                "Bash",
                {"command": f"grep -rn {TERM} ~/.deeplake/memory | head", "description": "Search team memory"},
                id="toolu_mem_2_bash",
            ),
            Reply.tool_use("Read", {"file_path": root + vpath}, id="toolu_mem_3_read"),
            Reply.tool_use(
                "Bash",
                {"command": f"echo 'remember {TERM2}' >> {note}", "description": "Leave a note"},
                id="toolu_mem_4_note",
            ),
            Reply.tool_use("Bash", {"command": f"cat {note}", "description": "Read the note"}, id="toolu_mem_5_cat"),
        ]
        sid2 = claude(RECALL)["session_id"]
        assert sid2 != sid1

        # The SessionStart additionalContext reached session 2's first request, once.
        first = [r for r in api.message_requests if is_main_agent(r) and session_id(r) == sid2][0]
        dumped = json.dumps(first)
        assert dumped.count(CONTEXT_MARK) == 1, dumped[:3000]
        assert root in dumped.split(CONTEXT_MARK, 1)[1][:800]

        # A resumed session 2 is not given it a second time.
        seen = len(api.message_requests)
        assert claude(THANKS, "--resume", sid2)["session_id"] == sid2
        resumed = [r for r in api.message_requests[seen:] if is_main_agent(r) and session_id(r) == sid2]
        assert resumed, "the resumed turn reached the model"
        assert json.dumps(resumed[0]).count(CONTEXT_MARK) == 1

        # Every memory tool call of session 2 came back to the model holding the term.
        expected = {
            "toolu_mem_1_grep": TERM,
            "toolu_mem_2_bash": TERM,
            "toolu_mem_3_read": TERM,
            "toolu_mem_5_cat": TERM2,
        }
        got = {k: (result_text(b), b.get("is_error")) for k, b in model.results.items()}
        assert set(got) >= set(expected) | {"toolu_mem_4_note"}, got
        for tool_id, term in expected.items():
            text, is_error = got[tool_id]
            assert not is_error, (tool_id, got)
            assert term in text, (tool_id, got)
        assert not got["toolu_mem_4_note"][1], got["toolu_mem_4_note"]
        assert f"{root}{vpath}" in got["toolu_mem_2_bash"][0]  # grep -rn prints the file name

    assert "Traceback" not in paths.log_file().read_text()
