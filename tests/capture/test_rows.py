"""Sessions rows built from hook payloads (docs/deeplake-store.md, "Tables": sessions).

Rules under test: which hook event becomes which message ``type``; the message
fields; ``tool_input``/``tool_response`` as JSON *strings*; the row columns
(path convention, description = event name, agent, plugin_version, ISO-8601
UTC dates); hostile session ids never escape the path convention; huge
fields are cut with a marker.
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lakeloop
from lakeloop.capture import rows
from lakeloop.capture.rows import build_message, session_row
from lakeloop.identity import Identity, path_component, utc_now
from tests.support.payloads import first_payload, recorded_payloads

SID = "e8f2d602-bc51-4170-b4d4-df65e830a9f4"
ME = Identity(user="tester")
COMMON_KEYS = {"id", "session_id", "transcript_path", "cwd", "permission_mode", "hook_event_name", "timestamp", "type"}
_PATH_CHARS = re.compile(r"[A-Za-z0-9._/-]+")


def _parse_utc(text: str) -> dt.datetime:
    assert text.endswith("Z"), text
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert value.utcoffset() == dt.timedelta(0)
    return value


def test_user_prompt_submit_becomes_user_message():
    """UserPromptSubmit -> ``user_message`` with the prompt as ``content`` and the common fields."""
    payload = first_payload("UserPromptSubmit")
    msg = build_message(payload)
    assert msg["type"] == "user_message"
    assert msg["content"] == "migrate the db"
    assert set(msg) == COMMON_KEYS | {"content"}
    assert msg["session_id"] == SID
    assert msg["hook_event_name"] == "UserPromptSubmit"
    assert msg["transcript_path"] == payload["transcript_path"]
    assert msg["cwd"] == "/home/dev/project"
    assert msg["permission_mode"] == "default"
    assert re.fullmatch(r"[0-9a-f-]{36}", msg["id"])


def test_post_tool_use_becomes_tool_call_with_json_string_fields():
    """PostToolUse -> ``tool_call``: tool_name, tool_use_id, and tool_input/tool_response
    each a JSON *string* that parses back to the payload's value."""
    payload = first_payload("PostToolUse", "Bash")
    msg = build_message(payload)
    assert msg["type"] == "tool_call"
    assert set(msg) == COMMON_KEYS | {"tool_name", "tool_use_id", "tool_input", "tool_response"}
    assert msg["tool_name"] == "Bash"
    assert msg["tool_use_id"] == "toolu_0003_Bash"
    assert isinstance(msg["tool_input"], str) and isinstance(msg["tool_response"], str)
    assert json.loads(msg["tool_input"]) == payload["tool_input"]
    assert json.loads(msg["tool_response"]) == payload["tool_response"]


@pytest.mark.parametrize("response", ["plain text result", "", "{not json", 42, None, [1, "a"]])
def test_tool_response_of_any_json_type_is_stored_as_json_text(response):
    """Whatever JSON value a tool returns (MCP tools return bare strings), the stored
    field is JSON text of it, so other clients can JSON-parse it (as the reference client's
    ``JSON.stringify`` does)."""
    payload = first_payload("PostToolUse", "Read")
    payload["tool_response"] = response
    msg = build_message(payload)
    assert isinstance(msg["tool_response"], str)
    assert json.loads(msg["tool_response"]) == response


@pytest.mark.parametrize("event", ["Stop", "SubagentStop"])
def test_stop_events_become_assistant_message(event):
    """Stop and SubagentStop -> ``assistant_message`` with ``last_assistant_message`` as content."""
    payload = first_payload("Stop")
    payload["hook_event_name"] = event
    msg = build_message(payload)
    assert msg["type"] == "assistant_message"
    assert msg["hook_event_name"] == event
    assert msg["content"] == "I ran the migration with alembic upgrade head."
    assert set(msg) == COMMON_KEYS | {"content"}


def test_subagent_stop_keeps_agent_fields():
    """The optional agent_id, agent_type and agent_transcript_path are kept when present."""
    payload = first_payload("Stop")
    payload.update(
        hook_event_name="SubagentStop", agent_id="a1", agent_type="Explore", agent_transcript_path="/tmp/agent.jsonl"
    )
    msg = build_message(payload)
    assert (msg["agent_id"], msg["agent_type"], msg["agent_transcript_path"]) == ("a1", "Explore", "/tmp/agent.jsonl")


@pytest.mark.parametrize("event", ["SessionStart", "SessionEnd", "PreToolUse", "Notification", ""])
def test_events_that_are_not_captured_have_no_message(event):
    """Only UserPromptSubmit, PostToolUse, Stop and SubagentStop produce rows."""
    payload = first_payload("SessionStart")
    payload["hook_event_name"] = event
    assert build_message(payload) is None


def test_every_recorded_captured_event_builds_a_row():
    """Every recorded payload of a captured event yields a row of the expected type."""
    built = [(p["hook_event_name"], build_message(p)) for p in recorded_payloads()]
    types = [(e, m["type"]) for e, m in built if m is not None]
    assert types.count(("UserPromptSubmit", "user_message")) == 2
    assert types.count(("PostToolUse", "tool_call")) == 4
    assert types.count(("Stop", "assistant_message")) == 2
    assert len(types) == 8


def test_session_row_columns():
    """Row columns: path convention, filename, author, description = event name,
    agent claude_code, plugin_version, project from cwd, size_bytes of the message JSON."""
    msg = build_message(first_payload("PostToolUse", "Skill"))
    row = session_row(msg, ME)
    assert row.path == f"/sessions/tester/tester_local_default_{SID}.jsonl"
    assert row.filename == f"tester_local_default_{SID}.jsonl"
    assert row.author == "tester"
    assert row.description == "PostToolUse"
    assert row.agent == "claude_code"
    assert row.plugin_version == lakeloop.__version__
    assert row.mime_type == "application/json"
    assert row.project == "project"
    assert row.message is msg
    assert row.size_bytes == len(json.dumps(msg, ensure_ascii=False).encode("utf-8"))
    assert re.fullmatch(r"[0-9a-f-]{36}", row.id)


def test_path_uses_org_and_workspace():
    """``/sessions/<user>/<user>_<org name>_<workspace>_<session id>.jsonl``."""
    ident = Identity(user="alice", org_name="acme", workspace="research")
    assert ident.session_path("s-1") == "/sessions/alice/alice_acme_research_s-1.jsonl"


def test_one_path_per_session():
    """All events of one session share a path; another session gets another path."""
    paths = {session_row(build_message(p), ME).path for p in recorded_payloads() if build_message(p)}
    assert paths == {f"/sessions/tester/tester_local_default_{SID}.jsonl"}
    assert ME.session_path("other") != ME.session_path(SID)


def test_timestamps_are_iso8601_utc():
    """The message timestamp and the row dates are ISO-8601 UTC, equal, and current."""
    before = dt.datetime.now(dt.timezone.utc)
    row = session_row(build_message(first_payload("UserPromptSubmit")), ME)
    after = dt.datetime.now(dt.timezone.utc)
    stamp = _parse_utc(row.message["timestamp"])
    assert before - dt.timedelta(seconds=1) <= stamp <= after + dt.timedelta(seconds=1)
    assert row.creation_date == row.last_update_date == row.message["timestamp"]
    assert _parse_utc(utc_now())


def test_timestamp_is_when_the_hook_received_the_event():
    """With ``received_at_ns`` (the hook's receipt time; rows are stored later by the drainer) the
    timestamp is that instant, in the same fixed-width UTC format, microsecond precision."""
    ns = 1_780_000_000_123_456_789
    msg = build_message(first_payload("Stop"), received_at_ns=ns)
    expected = dt.datetime.fromtimestamp(1_780_000_000, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + ".123456Z"
    assert msg["timestamp"] == expected
    assert session_row(msg, ME).creation_date == expected


def test_utc_now_is_fixed_width_so_text_order_is_time_order():
    """``utc_now`` always has the same length (microseconds included), so sorting the
    text sorts by time."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", utc_now())


# -- hostile session ids ------------------------------------------------------------------

HOSTILE_IDS = [
    "../../../etc/passwd",
    "..",
    ".",
    "a/b",
    "a\\b",
    "/abs",
    "x\x00y",
    "\x00",
    "",
    " ",
    "a..b",
    "C:\\Windows",
    "~",
    "s" * 129,
    "x" * 100_000,
    "séance",
    "a\nb",
    "..%2f..%2f",
    "-rf",
]


@pytest.mark.parametrize("sid", HOSTILE_IDS, ids=lambda s: repr(s)[:30])
def test_hostile_session_id_is_replaced_by_a_hash(sid):
    """A session id outside ``[A-Za-z0-9._-]{1,128}`` (or with ``..``) becomes ``x<32 hex>``
    in the path; the message keeps the original id."""
    path = ME.session_path(sid)
    name = path.rsplit("/", 1)[-1]
    assert re.fullmatch(r"tester_local_default_x[0-9a-f]{32}\.jsonl", name), path
    payload = first_payload("UserPromptSubmit")
    payload["session_id"] = sid
    row = session_row(build_message(payload), ME)
    assert row.message["session_id"] == sid
    assert row.path == path


def test_distinct_hostile_ids_get_distinct_paths():
    """The hash keeps sessions apart: different ids never share a path."""
    paths = [ME.session_path(s) for s in HOSTILE_IDS]
    assert len(set(paths)) == len(paths)


def _assert_contained(path: str, user_component: str) -> None:
    parts = path.split("/")
    assert parts[:3] == ["", "sessions", user_component], path
    assert len(parts) == 4, path
    assert parts[3].endswith(".jsonl")
    assert posixpath.normpath(path) == path
    assert ".." not in parts[3][: -len(".jsonl")]  # no ".." from any value (a trailing "." may meet ".jsonl")
    assert _PATH_CHARS.fullmatch(path), path


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sid=st.one_of(
        st.text(max_size=300),
        st.text(alphabet="./\\\x00:~-_ab", max_size=40),
        st.builds(lambda a, b: a + "/../" + b, st.text(max_size=20), st.text(max_size=20)),
        st.text(alphabet="abc.", min_size=120, max_size=400),
    )
)
def test_property_no_session_id_escapes_the_path_convention(sid):
    """For any session id: the path is ``/sessions/<user>/<one safe file name>.jsonl``, normalised,
    with no ``..``, slash, backslash, NUL or other unsafe character from the id."""
    _assert_contained(ME.session_path(sid), "tester")


@settings(max_examples=200, deadline=None)
@given(user=st.text(max_size=200), org=st.text(max_size=50), ws=st.text(max_size=50), sid=st.text(max_size=50))
def test_property_no_identity_value_escapes_the_path_convention(user, org, ws, sid):
    """User, org and workspace are untrusted too: none of them can add a path level."""
    ident = Identity(user=user, org_name=org, workspace=ws)
    path = ident.session_path(sid)
    _assert_contained(path, path_component(user))


# -- huge fields ----------------------------------------------------------------------------

MARKER = re.compile(r"\.\.\.\[lakeloop: truncated (\d+) chars\]$")


def test_huge_prompt_is_truncated_with_a_marker():
    """A prompt over ``MAX_FIELD_CHARS`` keeps its first ``MAX_FIELD_CHARS`` characters plus a
    marker saying how many were cut, and the cut is reported."""
    extra = 1234
    payload = first_payload("UserPromptSubmit")
    payload["prompt"] = "p" * (rows.MAX_FIELD_CHARS + extra)
    cut: list[str] = []
    msg = build_message(payload, cut)
    assert msg["content"].startswith("p" * rows.MAX_FIELD_CHARS)
    match = MARKER.search(msg["content"])
    assert match and int(match.group(1)) == extra
    assert len(msg["content"]) == rows.MAX_FIELD_CHARS + len(match.group(0))
    assert cut == [f"content={rows.MAX_FIELD_CHARS + extra}"]


def test_huge_tool_fields_are_truncated_each_with_a_marker():
    """tool_input and tool_response are cut independently; the row is still valid JSON."""
    payload = first_payload("PostToolUse", "Bash")
    payload["tool_input"] = {"command": "i" * (rows.MAX_FIELD_CHARS + 10)}
    payload["tool_response"] = {"stdout": "o" * (rows.MAX_FIELD_CHARS * 2)}
    cut: list[str] = []
    msg = build_message(payload, cut)
    for field in ("tool_input", "tool_response"):
        assert MARKER.search(msg[field]), field
        assert len(msg[field]) < rows.MAX_FIELD_CHARS + 100
    assert [c.split("=")[0] for c in cut] == ["tool_input", "tool_response"]
    row = session_row(msg, ME)
    assert json.loads(json.dumps(row.message))["tool_name"] == "Bash"


def test_huge_assistant_message_is_truncated():
    """Stop's last_assistant_message is bounded too."""
    payload = first_payload("Stop")
    payload["last_assistant_message"] = "a" * (rows.MAX_FIELD_CHARS + 1)
    msg = build_message(payload)
    assert MARKER.search(msg["content"]).group(1) == "1"


def test_field_at_the_limit_is_not_truncated():
    """Exactly ``MAX_FIELD_CHARS`` characters is kept whole, with no marker."""
    payload = first_payload("UserPromptSubmit")
    payload["prompt"] = "q" * rows.MAX_FIELD_CHARS
    cut: list[str] = []
    msg = build_message(payload, cut)
    assert msg["content"] == payload["prompt"]
    assert cut == []
