"""``<private>`` spans are never stored, in any captured text (``lakeloop.redact.private``).

The rule: spans nest, take attributes (a quoted value may hold ``>`` and ``</private>``; a quote
never closed runs to the end of the text), tags are case-insensitive and tolerate spaces; an
unclosed or self-closing ``<private>`` hides the rest of the text; a stray ``</private>`` is
removed wherever it occurs; the stored text never holds a ``<private`` or ``</private`` tag; time
is linear. Checked on the
function (cases, a property over random nestings, timing) and through ``hooks/run`` for a prompt,
a tool call's input and output (stored as JSON text that stays valid) and an answer.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeloop import paths
from lakeloop.redact import hide_private_message
from lakeloop.redact.private import MARK, hide_private
from tests.support.capture import capture, drained_up_to, prompt, stop, tool

#: Any remaining tag, spelled as the rule reads one.
TAG = re.compile(r"<\s*/?\s*private(?![\w.:-])", re.IGNORECASE)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("x <private>a <private>b</private> SECRET </private> y", "x [PRIVATE] y"),
        ('x <private reason="pw">SECRET</private> y', "x [PRIVATE] y"),
        ("x <private reason='a>b'>SECRET</private> y", "x [PRIVATE] y"),
        ("x <PRIVATE>SECRET</Private> y <pRiVaTe >SECRET</ private > z", "x [PRIVATE] y [PRIVATE] z"),
        ("x < private>SECRET< / private> y", "x [PRIVATE] y"),
        ("x <private/> SECRET </private> SECRET", "x [PRIVATE]"),
        ('x <private reason="all" /> SECRET', "x [PRIVATE]"),
        ("x <private>SECRET", "x [PRIVATE]"),
        ("x <private>a <private>b</private> SECRET", "x [PRIVATE]"),  # the outer span is never closed
        ("x <private a <private>SECRET</private> SECRET", "x [PRIVATE]"),  # a tag ends where the next begins
        ("x <private", "x [PRIVATE]"),
        ("x <private>SECRET</private", "x [PRIVATE]"),  # a closing tag cut short still closes
        ("x </private> y", "x  y"),  # a stray closing tag is removed, the text kept
        ("x <</private>private> SECRET", "x [PRIVATE]"),  # removing it joined a new tag: hidden too
        (
            "<privateKey>kept</privateKey> and <private-note>kept",
            "<privateKey>kept</privateKey> and <private-note>kept",
        ),
        ("a < b and c > d, no tag", "a < b and c > d, no tag"),
        ("multi\nline <private>SE\nCRET</private>\nend", "multi\nline [PRIVATE]\nend"),
        # attributes: a quoted value holds '>' and '</private>'; an unquoted one stops at '>'
        ('a <private note="</private>">SECRET</private> b', "a [PRIVATE] b"),
        ("a <private note='</private>'>SECRET</private> b", "a [PRIVATE] b"),
        ("a <private a=\"x>y\" b='</private>' c=d>SECRET</private> b", "a [PRIVATE] b"),
        ('a <private "</private>">SECRET</private> b', "a [PRIVATE] b"),  # a quote where a name goes counts too
        ("a <private reason=pw>SECRET</private> b", "a [PRIVATE] b"),
        ('a <private>SECRET</private note="</private>"> b', "a [PRIVATE] b"),
        ('a <private><private x="</private>">SECRET</private> SECRET</private> b', "a [PRIVATE] b"),
        # a quote never closed: its tag, and what it hides, runs to the end of the text
        ('a <private note="oops>SECRET</private> b SECRET', "a [PRIVATE]"),
        ("a <private note='oops>SECRET</private> b SECRET", "a [PRIVATE]"),
        ('a <private>SECRET</private note="x> SECRET', "a [PRIVATE]"),
        ('a </private note="x> SECRET', "a [PRIVATE]"),
        # a stray closing tag is removed even when the text has no span
        ("a <\u200bprivate>kept</private> b", "a <\u200bprivate>kept b"),
        ('a </private x="1"> b </PRIVATE >', "a  b "),
    ],
)
def test_the_rule(text, expected):
    out, changes = hide_private(text)
    assert out == expected
    assert "SECRET" not in out and not TAG.search(out)
    assert (changes > 0) == (out != text)  # a count of 0 means the text is returned as it is


def test_a_stray_closing_tag_alone_is_removed_from_every_field():
    """Whoever keeps a text only when a span was hidden would keep a lone stray tag: the count
    includes removed stray tags, so a message (and a JSON field, which stays valid) loses it."""
    message = {
        "id": "e",
        "type": "tool_call",
        "content": "lone </private> tag",
        "tool_input": json.dumps({"command": "echo '</private>'"}),
    }
    out, changes = hide_private_message(message)
    assert changes == 2
    assert out["content"] == "lone  tag" and json.loads(out["tool_input"]) == {"command": "echo ''"}


# -- random nestings ---------------------------------------------------------------------------

OPENERS = st.sampled_from(
    [
        "<private>",
        "<PRIVATE>",
        "< private >",
        '<private reason="pw">',
        "<Private a='>'>",
        "<private\n>",
        "<private x=1",
        '<private note="</private>">',
        "<private n='a>b</private>' m=c>",
        '<private "</private>">',
    ]
)
#: Opening tags whose quote is never closed: they hide the rest of the text. Generated last, followed
#: by text without quotes (a later quote of the same kind would close theirs).
RUNAWAY = st.sampled_from(['<private note="oops', '<private note="oops>', '<private a="1" b="</private>'])
QUOTELESS_TAGS = st.sampled_from(["<private>", "</private>", "< / private>", "<private/>", "<private x=1>"])
CLOSERS = st.sampled_from(
    [
        "</private>",
        "</PRIVATE >",
        "< / private>",
        "</private\t>",
        '</private x="1">',
        '</private note="</private>">',
        "</private n='<private>'>",
    ]
)
SELF_CLOSING = st.sampled_from(["<private/>", "<private />", '<PRIVATE reason="x"/>', '<private note="/>" />'])
WORDS = st.sampled_from(["alpha", "beta", " ", "\n", "a < b", "c > d", "<b>", "</i>", "private", "<privateKey>"])
#: Words with quotes: outside any tag a quote is a letter (generated outside spans only: inside an
#: opening tag with no '>' such a quote would open a quoted part, which the model does not follow).
QUOTED_WORDS = st.sampled_from(['he said "hi"', "it's", 'a="b>c"', "'</i>'"])


@st.composite
def texts(draw, depth: int = 0):
    """``(text, secrets, public)``: words outside spans are public, every word inside a span or
    after an unclosed or self-closing tag carries a secret marker."""
    parts, secrets, public = [], [], []
    ended = ""  # "unclosed" or "self": that tag hid everything after it
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["word", "word", "span", "stray"] + (["unclosed", "self"] if not depth else [])))
        if kind in ("word", "stray") and ended:  # hidden by the tag that hid the rest: a secret too
            mark = f"AFTER{len(secrets)}X"
            secrets.append(mark)
            # a closing tag after a self-closing one changes nothing (after an unclosed opening
            # tag it would close it: not generated there)
            parts.append((draw(CLOSERS) if kind == "stray" and ended == "self" else "") + f" {mark} ")
        elif kind == "word":
            word = draw(st.one_of(WORDS, QUOTED_WORDS) if depth == 0 else WORDS)
            parts.append(word)
            if depth == 0:
                public.append(word)
        elif kind == "stray" and depth == 0:  # a closing tag with no opening one
            parts.append(draw(CLOSERS))
        else:
            mark = f"SECRET{len(secrets)}X"
            secrets.append(mark)
            if kind == "self":
                parts.append(draw(SELF_CLOSING) + mark)
                ended = "self"
                continue
            inner, inner_secrets, _ = draw(texts(depth + 1)) if depth < 3 else ("", [], [])
            secrets.extend(inner_secrets)
            body = draw(OPENERS) + mark + inner + f" {mark} "
            if kind == "unclosed":
                parts.append(body)
                ended = ended or "unclosed"
            else:
                parts.append(body + draw(CLOSERS))
    if depth == 0 and not ended and draw(st.booleans()):  # a quote never closed: hidden to the end
        parts.append(draw(RUNAWAY))
        for _ in range(draw(st.integers(1, 4))):
            mark = f"RUNAWAY{len(secrets)}X"
            secrets.append(mark)
            parts.append(f"{mark} {draw(st.one_of(WORDS, QUOTELESS_TAGS))} {mark}")
    return "".join(parts), secrets, public


@settings(max_examples=400, deadline=None)
@given(texts())
def test_no_secret_and_no_tag_survive_random_nestings(case):
    text, secrets, public = case
    out, _spans = hide_private(text)
    for secret in secrets:
        assert secret not in out
    assert not TAG.search(out), out
    plain = out.lower().replace("<privatekey>", "")  # a word of the text, not a tag
    assert "<private" not in plain and "</private" not in plain
    rest = out
    for word in public:  # what no span covered is kept, in order
        if word.strip():
            assert word in rest, (text, out)
            rest = rest[rest.index(word) + len(word) :]


def _seconds(text: str) -> float:
    """The best of three timings of ``hide_private(text)`` (seconds): the least disturbed by other
    work on a shared machine."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        hide_private(text)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize(
    "unit",
    [
        "<private>",
        "</private>",
        "<private x",
        "< ",
        "<private/>x",
        "<</private>",
        '<private a="',
        '</private a="',
        '"<private ',
        "<private a=\"x\" b='y' c=z ",
    ],
)
def test_time_is_linear_on_hostile_input(unit):
    """Four times as much text of tags (or near-tags) takes about four times as long: linear (a
    quadratic scan would take 16 times as long; 10 leaves room for a busy machine, and a floor of
    50 ms under the 1 MiB time keeps a pause of the machine from failing the fastest units, which
    a quadratic scan of 1 MiB could never meet anyway)."""
    count = (1 << 20) // len(unit)  # 1 MiB, then 4 MiB of text
    small, large = _seconds(unit * count), _seconds(unit * (4 * count))
    assert large < 10 * max(small, 0.05), (unit, small, large)


def test_a_million_tags_within_seconds():
    """A million nested, never closed ``<private>`` tags: one [PRIVATE], in a few seconds."""
    started = time.perf_counter()
    assert hide_private("keep " + "<private>" * 1_000_000 + "SECRET") == ("keep [PRIVATE]", 1)
    assert time.perf_counter() - started < 20


# -- JSON fields keep valid JSON ------------------------------------------------------------------


def test_json_text_fields_stay_valid_json():
    """Each string (and member name) of a tool's JSON input and output is its own text; the field
    stays valid JSON. A field cut to size (not JSON any more) is treated as plain text."""
    message = {
        "id": "e",
        "type": "tool_call",
        "session_id": "<private>s</private>",
        "tool_input": json.dumps(
            {
                "command": 'echo "<private reason=\\"pw\\">hunter2</private>" ok',
                "<private>k</private>": ["a <private>b", 1],
            }
        ),
        "tool_response": json.dumps("x <private>SECRET") + "...[lakeloop: truncated 9 chars]",
    }
    out, spans = hide_private_message(message)
    assert spans == 4
    assert json.loads(out["tool_input"]) == {"command": 'echo "[PRIVATE]" ok', "[PRIVATE]": ["a [PRIVATE]", 1]}
    assert out["tool_response"] == '"x [PRIVATE]'
    assert out["session_id"] == message["session_id"]  # the fields that identify the row are kept
    assert hide_private_message({"content": "no tags"}) == ({"content": "no tags"}, 0)


# -- through hooks/run ---------------------------------------------------------------------------


def test_private_spans_in_every_captured_text_through_the_hooks(tmp_path):
    """A prompt, a PostToolUse's tool_input and tool_response, and a Stop answer: every span is
    hidden, the JSON fields stay valid JSON, and no secret reaches the store or the log."""
    capture("UserPromptSubmit", prompt(tmp_path, "x <private>a <private>b</private> PROMPTSECRET </private> y"))
    call = tool(tmp_path, "out <PRIVATE>OUTSECRET</PRIVATE> end <private/> TAILSECRET")
    call["tool_input"] = {"command": 'deploy --pin <private reason="pw">INSECRET</private>', "note": "<private>"}
    capture("PostToolUse", call)
    capture("Stop", stop(tmp_path, "done < private >ANSWERSECRET</ private > ok"))
    rows = drained_up_to("sentinel private")
    by_type = {m["type"]: m for m in rows if m.get("content") != "sentinel private"}
    assert by_type["user_message"]["content"] == "x [PRIVATE] y"
    assert by_type["assistant_message"]["content"] == "done [PRIVATE] ok"
    call_row = by_type["tool_call"]
    assert json.loads(call_row["tool_input"]) == {"command": "deploy --pin [PRIVATE]", "note": MARK}
    assert json.loads(call_row["tool_response"])["stdout"] == "out [PRIVATE] end [PRIVATE]"
    stored = json.dumps(rows)
    log = paths.log_file().read_text()
    for secret in ("PROMPTSECRET", "OUTSECRET", "TAILSECRET", "INSECRET", "ANSWERSECRET"):
        assert secret not in stored and secret not in log
    assert not TAG.search(stored)
    assert "<private> span(s) (or stray closing tags) not stored" in log


def test_quoted_attributes_and_lone_stray_tags_through_the_hooks(tmp_path):
    """Through ``hooks/run``: a closing tag inside a quoted attribute does not end the tag (the
    span's text is not stored), a quote never closed hides the rest, and a stray ``</private>``
    in a text with no span is removed (a prompt, a tool's input and output, an answer)."""
    capture("UserPromptSubmit", prompt(tmp_path, 'a <private note="</private>">ATTRSECRET</private> b'))
    call = tool(tmp_path, "lone </private> in the output")
    call["tool_input"] = {"command": "echo <private note='oops>RUNSECRET </private> still hidden"}
    capture("PostToolUse", call)
    capture("Stop", stop(tmp_path, "only a stray </PRIVATE > here"))
    rows = drained_up_to("sentinel attributes")
    by_type = {m["type"]: m for m in rows if m.get("content") != "sentinel attributes"}
    assert by_type["user_message"]["content"] == "a [PRIVATE] b"
    assert by_type["assistant_message"]["content"] == "only a stray  here"
    call_row = by_type["tool_call"]
    assert json.loads(call_row["tool_input"])["command"] == "echo [PRIVATE]"
    assert json.loads(call_row["tool_response"])["stdout"] == "lone  in the output"
    stored = json.dumps(rows)
    assert "ATTRSECRET" not in stored and "RUNSECRET" not in stored and "still hidden" not in stored
    assert not TAG.search(stored)
