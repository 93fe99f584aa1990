"""Session summaries end to end on the real Claude Code (npm, pinned), offline against a scripted
model on loopback, the plugin installed into the test's HOME from this checkout, on the embedded
store.

Session 1 runs in project ``shop`` (two prompts: a turn and its resume). Its SessionEnd queues
the final summary; the job runner (started by the hook) runs the ``summarize`` job, which calls
the real ``claude -p --tools ""`` against the same scripted model; its answer is written as
``/summaries/<user>/<session 1>.md``. Then session 2 starts in ``shop``: the first request its
main agent sends to the model holds session 1's "What Happened" sentence (SessionStart's
additionalContext), and the agent reads the summary through the memory path. A session started in
project ``infra`` is not told about it. The summariser's own Claude Code session is never captured.
"""

from __future__ import annotations

import json
import os
import time

from lakeloop import paths
from lakeloop.store.embedded import EmbeddedStore
from lakeloop.store.memory_types import DOC, MemoryQuery
from lakeloop.summaries import path_for
from tests.support.claude_code import install_plugin, offline_env, run_turn
from tests.support.fake_anthropic import (
    FakeAnthropic,
    Reply,
    Script,
    has_tool_result,
    is_main_agent,
    is_tool_less,
    last_user_text,
    session_id,
    system_text,
    tool_results,
)
from tests.support.summaries import answer
from tests.support.waiting import wait_until

WHAT = "The user and the agent fixed the flaky checkout test by moving the retries into the client."
NEXT = "Open a pull request for the retry change."
SUMMARISER = "You write the summary of one recorded coding-agent session"
FIRST, SECOND = "Fix the flaky checkout test.", "Now move the retries into the payment client."
RECALL = "What did the team do here before? Read the summary."


def test_a_sessions_summary_reaches_the_next_session_of_its_project(claude_bin, tmp_path, isolated_env):
    started = time.monotonic()
    home = tmp_path / "home"
    (home / ".claude").mkdir(parents=True)
    shop, infra = tmp_path / "work" / "shop", tmp_path / "elsewhere" / "infra"
    shop.mkdir(parents=True)
    infra.mkdir(parents=True)
    root = f"{home}/.deeplake/memory"
    read_summary: dict[str, str] = {}

    def main_turn(request: dict) -> Reply:
        if has_tool_result(request):
            for block in tool_results(request):
                content = block.get("content")
                text = content if isinstance(content, str) else json.dumps(content)
                read_summary[block.get("tool_use_id", "")] = text
            return Reply.text("Done reading.")
        if RECALL in last_user_text(request) and read_summary.get("target"):
            return Reply.tool_use("Read", {"file_path": read_summary["target"]}, id="toolu_sum_read")
        return Reply.text("Done.")

    script = (
        Script()
        .on(lambda r: is_tool_less(r) and SUMMARISER in system_text(r), Reply.text(answer(WHAT, f"- {NEXT}")))
        .on(is_main_agent, main_turn)
    )
    with FakeAnthropic(script) as api:
        env = offline_env(home, api.base_url, LAKELOOP_CLAUDE_BIN=claude_bin, LAKELOOP_JOBS_LINGER_S="1")
        install_plugin(claude_bin, env, shop)

        def claude(cwd, prompt: str, *extra: str) -> str:
            return run_turn(claude_bin, prompt, env, cwd, "Bash,Read,Grep,Glob", *extra, timeout=180)["session_id"]

        # Session 1 in shop: two prompts; its end queues the final summary.
        sid1 = claude(shop, FIRST)
        assert claude(shop, SECOND, "--resume", sid1) == sid1
        summary_path = path_for(os.environ["LAKELOOP_USER"], sid1)

        def summary() -> str:
            if not paths.store_file().exists():
                return ""
            with EmbeddedStore(paths.store_file()) as store:
                docs = store.memory_query(MemoryQuery(prefixes=(summary_path,), content=True))
            return next((d.text for d in docs if d.kind == DOC and WHAT in d.text), "")

        text = wait_until(summary, 180, "session 1's summary row")
        assert text.startswith(f"# Session {sid1}\n") and f"## Next Steps\n- {NEXT}" in text
        asked = [r for r in api.message_requests if is_tool_less(r) and SUMMARISER in system_text(r)]
        assert asked and all(FIRST in json.dumps(r) for r in asked[-1:])  # the session text was sent

        # Session 2 in shop: told what session 1 did, and reads the summary through the memory path.
        read_summary["target"] = root + summary_path
        sid2 = claude(shop, RECALL)
        first2 = next(r for r in api.message_requests if is_main_agent(r) and session_id(r) == sid2)
        told = json.dumps(first2, ensure_ascii=False)
        assert WHAT in told and NEXT in told and (root + summary_path) in told, told[:3000]
        assert WHAT in read_summary.get("toolu_sum_read", ""), read_summary

        # A session in another project (infra) is not told about shop's session.
        sid3 = claude(infra, "hello")
        first3 = next(r for r in api.message_requests if is_main_agent(r) and session_id(r) == sid3)
        assert WHAT not in json.dumps(first3, ensure_ascii=False)

        # The summariser's own Claude Code session was never captured.
        with EmbeddedStore(paths.store_file()) as store:
            captured = {s["session_id"] for s in store.list_sessions()}
        summariser_sids = {session_id(r) for r in asked}
        assert captured <= {sid1, sid2, sid3} and sid1 in captured and not captured & summariser_sids
    log = paths.log_file().read_text()
    assert "Traceback" not in log
    print(f"\nsummaries end-to-end wall time: {time.monotonic() - started:.1f} s")
