"""The scripted Messages API stand-in speaks the protocol (plain HTTP, no claude binary)."""

from __future__ import annotations

import json
import urllib.request

from tests.support.fake_anthropic import (
    FakeAnthropic,
    Reply,
    Script,
    has_tool_result,
    is_background,
    is_main_agent,
    is_tool_less,
    last_user_text,
    session_id,
    system_text,
)

TOOLS = [{"name": "Skill", "description": "run a skill", "input_schema": {"type": "object"}}]


def _post(api: FakeAnthropic, path: str, body: dict) -> urllib.request.addinfourl:
    request = urllib.request.Request(
        api.base_url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    return urllib.request.urlopen(request, timeout=10)


def _sse(response) -> list[tuple[str, dict]]:
    events = []
    for chunk in response.read().decode().split("\n\n"):
        if chunk.strip():
            lines = dict(line.split(": ", 1) for line in chunk.splitlines())
            events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_streams_a_tool_use_then_a_text_answer():
    script = Script().on(
        is_main_agent, Reply.tool_use("Skill", {"skill": "db-migrate--alice"}, id="toolu_1"), Reply.text("done")
    )
    first = {
        "model": "m",
        "stream": True,
        "max_tokens": 100,
        "tools": TOOLS,
        "messages": [{"role": "user", "content": "migrate the db"}],
    }
    with FakeAnthropic(script) as api:
        with _post(api, "/v1/messages?beta=true", first) as response:
            assert response.headers["Content-Type"] == "text/event-stream"
            events = _sse(response)
        follow_up = dict(
            first,
            messages=first["messages"]
            + [
                {
                    "role": "assistant",
                    "content": [events[1][1]["content_block"] | {"input": {"skill": "db-migrate--alice"}}],
                },
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "ok"}]},
            ],
        )
        with _post(api, "/v1/messages?beta=true", follow_up) as response:
            second = _sse(response)
        assert [has_tool_result(r) for r in api.requests] == [False, True]

    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[1][1]["content_block"] == {"type": "tool_use", "id": "toolu_1", "name": "Skill", "input": {}}
    delta = events[2][1]["delta"]
    assert delta["type"] == "input_json_delta" and json.loads(delta["partial_json"]) == {"skill": "db-migrate--alice"}
    assert events[4][1]["delta"]["stop_reason"] == "tool_use" and "output_tokens" in events[4][1]["usage"]
    assert second[2][1]["delta"] == {"type": "text_delta", "text": "done"}
    assert second[4][1]["delta"]["stop_reason"] == "end_turn"


def test_plain_json_other_endpoints_and_request_helpers():
    judge = {
        "model": "claude-haiku-5-5",
        "max_tokens": 100,
        "tools": [],
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.330;"},
            {"type": "text", "text": "You are a Claude agent."},
            {"type": "text", "text": "X"},
        ],
        "metadata": {"user_id": json.dumps({"device_id": "d", "session_id": "s-1"})},
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "<system-reminder>\nnoise\n</system-reminder>"},
                    {"type": "text", "text": "judge this"},
                ],
            },
            {"role": "system", "content": "# Environment"},
        ],
    }
    title = {
        "model": "m",
        "max_tokens": 50,
        "system": 'Return JSON with a single "title" field.',
        "messages": [{"role": "user", "content": "<session>hi</session>"}],
    }
    script = Script().on(is_tool_less, Reply.text('{"verdict": "negative"}'))
    with FakeAnthropic(script) as api:
        with _post(api, "/v1/messages", judge) as response:
            message = json.load(response)
        with _post(api, "/v1/messages", title) as response:
            title_message = json.load(response)
        with _post(api, "/v1/messages/count_tokens?beta=true", {"messages": []}) as response:
            assert json.load(response) == {"input_tokens": 10}
        with urllib.request.urlopen(api.base_url + "/v1/models", timeout=10) as response:
            assert response.status == 200
        received = api.requests

    assert message["type"] == "message" and message["stop_reason"] == "end_turn"
    assert message["content"] == [{"type": "text", "text": '{"verdict": "negative"}'}]
    assert json.loads(title_message["content"][0]["text"])["title"]
    assert is_tool_less(judge) and not is_main_agent(judge) and not is_background(judge)
    assert is_background(title) and not is_tool_less(title)
    assert system_text(judge) == "You are a Claude agent.\nX"
    assert last_user_text(judge) == "judge this" and session_id(judge) == "s-1"
    assert [r.get("_path") for r in received] == [None, None, "/v1/messages/count_tokens?beta=true", "/v1/models"]
