"""Reading the judge's and proposer's replies (skillopt/parse.py) and applying edits
(skillopt/edits.py).

Rules under test (docs/skill-loop.md, steps 4 and 5):
* the judge's verdict is read conservatively: anything but a clear, confident
  ``success: 0`` counts as success (a flaky judge never manufactures a failure);
* the proposer gives at most 3 edits; malformed ones are dropped;
* ``append``, ``insert_after``, ``replace``, ``delete``; a target must occur exactly once;
* text between ``<!-- SLOW_UPDATE_START -->`` and ``<!-- SLOW_UPDATE_END -->`` is protected:
  overlapping edits are skipped, appends land above it, text holding a marker is skipped.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeloop.skillopt.edits import END, START, apply_edits, protected_span
from lakeloop.skillopt.parse import MAX_EDITS, Edit, extract_json, parse_edits, parse_verdict

# -- verdicts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "   ",
        None,
        42,
        ["success", 0],
        "garbage",
        "The task failed.",
        "success: 0",
        "{",
        "{}",
        '{"confidence": 0.9, "reason": "broken"}',
        "[0]",
        '{"success": 0',
        "```\n```",
        '{"success": 0, "confidence": 0.9} and also {"success": 1}',
    ],
    ids=repr,
)
def test_unparseable_or_empty_verdict_counts_as_success(reply):
    """Nothing readable as ``{"success": ...}`` means success, flagged as not parsed."""
    verdict = parse_verdict(reply)
    assert verdict.success is True
    assert verdict.parsed is False


@pytest.mark.parametrize(
    "reply",
    [
        '{"success": 0, "confidence": 0.9, "reason": "the migration dropped a table"}',
        '{"success": false, "confidence": 1, "reason": "the migration dropped a table"}',
        '{"success": "0", "confidence": 0.75, "reason": "the migration dropped a table"}',
        '{"success": 0.0, "reason": "the migration dropped a table"}',  # confidence absent = 1.0
        'Verdict:\n{"success": 0, "confidence": 0.8, "reason": "the migration dropped a table"}\nThanks.',
        '```json\n{"success": 0, "confidence": 0.9, "reason": "the migration dropped a table"}\n```',
        '  ```\n{"success": 0, "confidence": 0.9, "reason": "the migration dropped a table"}\n```  ',
    ],
)
def test_clear_confident_failure_is_failure(reply):
    """A clear ``success: 0`` with confidence >= 0.5 is a failure, also when fenced or wrapped in prose."""
    verdict = parse_verdict(reply)
    assert verdict.success is False
    assert verdict.parsed is True
    assert verdict.reason == "the migration dropped a table"


@pytest.mark.parametrize(
    "reply",
    [
        '{"success": 1, "confidence": 0.9, "reason": "done"}',
        '{"success": true, "confidence": 0.2, "reason": "done"}',
        '```json\n{"success": 1, "confidence": 1, "reason": "done"}\n```',
        '{"success": "yes", "reason": "done"}',
        '{"success": null, "reason": "done"}',
        '{"success": 2, "reason": "done"}',
    ],
)
def test_success_or_unrecognised_value_is_success(reply):
    """``success`` other than 0/false counts as success (parsed)."""
    verdict = parse_verdict(reply)
    assert verdict.success is True and verdict.parsed is True


@pytest.mark.parametrize("confidence", [0.49, 0.0, -3, "high", None, "NaN", [1]])
def test_low_or_bad_confidence_failure_counts_as_success(confidence):
    """A failure below the confidence threshold (or with an unreadable confidence) is success."""
    reply = json.dumps({"success": 0, "confidence": confidence, "reason": "maybe"})
    verdict = parse_verdict(reply)
    assert verdict.success is True
    assert "low-confidence" in verdict.reason


def test_confidence_threshold_is_inclusive_and_configurable():
    """Exactly ``min_confidence`` is enough; a higher threshold turns it into success."""
    reply = '{"success": 0, "confidence": 0.5, "reason": "r"}'
    assert parse_verdict(reply).success is False
    assert parse_verdict(reply, min_confidence=0.8).success is True
    assert parse_verdict('{"success": 0, "confidence": 7}').confidence == 1.0  # clamped


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_property_random_text_never_fails_unless_it_says_success_0(text):
    """Random text is a failure only if it actually holds a JSON object with a falsy ``success``."""
    verdict = parse_verdict(text)
    if not verdict.success:
        obj = extract_json(text)
        assert isinstance(obj, dict) and obj["success"] in (0, False, "0", "false", "False")


# -- edits parsing -------------------------------------------------------------------------


def test_parse_edits_reads_all_four_ops():
    """append, insert_after, replace and delete are read with their fields; delete keeps no text."""
    reply = json.dumps(
        {
            "edits": [
                {"op": "append", "text": "Always back up first."},
                {"op": "insert_after", "target": "## Steps", "text": "0. Check the DB URL."},
                {"op": "replace", "target": "alembic upgrade head", "text": "alembic upgrade +1"},
            ]
        }
    )
    edits, problems = parse_edits(reply)
    assert edits == [
        Edit("append", "", "Always back up first."),
        Edit("insert_after", "## Steps", "0. Check the DB URL."),
        Edit("replace", "alembic upgrade head", "alembic upgrade +1"),
    ]
    assert problems == []
    assert parse_edits('[{"op": "delete", "target": "old line", "text": "ignored"}]')[0] == [
        Edit("delete", "old line", "")
    ]


def test_parse_edits_keeps_at_most_three():
    """Only the first ``MAX_EDITS`` (3) valid edits are kept; the rest are reported."""
    assert MAX_EDITS == 3
    reply = json.dumps({"edits": [{"op": "append", "text": f"line {i}"} for i in range(5)]})
    edits, problems = parse_edits(reply)
    assert [e.text for e in edits] == ["line 0", "line 1", "line 2"]
    assert any("2 edits beyond" in p for p in problems)


@pytest.mark.parametrize(
    "item, why",
    [
        ("append it", "not an object"),
        ({"op": "rewrite", "text": "x"}, "bad op"),
        ({"text": "x"}, "bad op"),
        ({"op": "replace", "target": 3, "text": "x"}, "bad op"),
        ({"op": "append", "text": ["x"]}, "bad op"),
        ({"op": "replace", "text": "x"}, "needs a target"),
        ({"op": "delete", "target": ""}, "needs a target"),
        ({"op": "insert_after", "target": "t", "text": "  \n"}, "needs text"),
        ({"op": "append"}, "needs text"),
    ],
)
def test_parse_edits_drops_malformed_entries(item, why):
    """A malformed edit is dropped with a reason; the valid ones around it are kept."""
    reply = json.dumps({"edits": [{"op": "append", "text": "good 1"}, item, {"op": "append", "text": "good 2"}]})
    edits, problems = parse_edits(reply)
    assert [e.text for e in edits] == ["good 1", "good 2"]
    assert len(problems) == 1 and why in problems[0]


def test_malformed_entries_do_not_count_towards_the_limit():
    """The limit of 3 applies to valid edits: dropped entries do not use it up."""
    items = [
        {"op": "nope"},
        {"op": "append", "text": "a"},
        {"bad": 1},
        {"op": "append", "text": "b"},
        {"op": "append", "text": "c"},
        {"op": "append", "text": "d"},
    ]
    edits, _ = parse_edits(json.dumps({"edits": items}))
    assert [e.text for e in edits] == ["a", "b", "c"]


@pytest.mark.parametrize("reply", ["", "no edits today", '{"edits": "none"}', '{"changes": []}', None, "{}"])
def test_parse_edits_without_a_list_gives_nothing(reply):
    """A reply without an edits list yields no edits and a reported problem."""
    edits, problems = parse_edits(reply)
    assert edits == [] and problems


def test_parse_edits_reads_fenced_json():
    """A reply in a fenced code block is read like bare JSON."""
    reply = '```json\n{"edits": [{"op": "append", "text": "x"}]}\n```'
    assert parse_edits(reply)[0] == [Edit("append", "", "x")]


# -- applying edits --------------------------------------------------------------------------

BODY = """---
name: db-migrate
---
# DB migrate

## Steps
1. Run alembic upgrade head.
2. Check the tables.
"""

PROTECTED = f"""# Skill

Intro line.

{START}
Do not touch: alembic downgrade base.
{END}

Outro line.
"""


def test_append_adds_at_the_end():
    """Without a protected region, append adds the text as a paragraph at the end."""
    result = apply_edits(BODY, [Edit("append", text="3. Back up before migrating.")])
    assert result.body == BODY.rstrip("\n") + "\n\n3. Back up before migrating.\n"
    assert result.applied == [Edit("append", text="3. Back up before migrating.")]


def test_insert_after_anchor():
    """insert_after puts the text on a new line right after the exact anchor."""
    result = apply_edits(BODY, [Edit("insert_after", "## Steps", "0. Take a backup.")])
    assert "## Steps\n0. Take a backup.\n1. Run alembic" in result.body
    assert result.skipped == []


def test_replace_anchor():
    """replace swaps the exact anchor for the text."""
    result = apply_edits(BODY, [Edit("replace", "alembic upgrade head", "alembic upgrade +1")])
    assert "1. Run alembic upgrade +1.\n" in result.body
    assert "upgrade head" not in result.body


def test_delete_anchor():
    """delete removes the exact anchor."""
    result = apply_edits(BODY, [Edit("delete", "2. Check the tables.\n")])
    assert result.body == BODY.replace("2. Check the tables.\n", "")


def test_edits_apply_in_order_each_on_the_previous_result():
    """The second edit can anchor on text the first one inserted."""
    result = apply_edits(
        BODY, [Edit("insert_after", "## Steps", "0. Backup."), Edit("replace", "0. Backup.", "0. Take a full backup.")]
    )
    assert "## Steps\n0. Take a full backup.\n1." in result.body
    assert len(result.applied) == 2


def test_missing_anchor_is_skipped():
    """A target that does not occur is skipped; later edits still apply."""
    result = apply_edits(BODY, [Edit("replace", "alembic upgrade HEAD", "x"), Edit("append", text="kept")])
    assert result.skipped == [(Edit("replace", "alembic upgrade HEAD", "x"), "target not found")]
    assert result.applied == [Edit("append", text="kept")]
    assert "upgrade head" in result.body


def test_ambiguous_anchor_is_skipped():
    """A target found more than once is not an exact anchor: skipped, body unchanged."""
    body = "run it\nthen run it again\n"
    result = apply_edits(body, [Edit("delete", "run it")])
    assert result.body == body
    assert result.skipped[0][1].startswith("target is ambiguous")


def test_overlapping_occurrences_are_ambiguous_too():
    """``abab`` occurs twice in ``ababab`` (at 0 and 2), even though the occurrences overlap."""
    body = "x ababab y\n"
    result = apply_edits(body, [Edit("replace", "abab", "Z")])
    assert result.body == body
    assert result.applied == []
    assert "ambiguous" in result.skipped[0][1]


def test_protected_span_covers_the_markers():
    """The region spans both markers; without an end marker it runs to the end."""
    start, end = protected_span(PROTECTED)
    assert PROTECTED[start:end].startswith(START) and PROTECTED[start:end].endswith(END)
    assert protected_span(BODY) is None
    open_ended = f"a\n{START}\nb\n"
    assert protected_span(open_ended) == (2, len(open_ended))


@pytest.mark.parametrize(
    "edit",
    [
        Edit("replace", "alembic downgrade base", "alembic downgrade -1"),
        Edit("delete", "Do not touch"),
        Edit("insert_after", "Do not touch: alembic downgrade base.", "extra"),
        Edit("replace", f"Intro line.\n\n{START}", "Intro line."),  # straddles the start marker
        Edit("delete", f"{END}\n\nOutro"),  # straddles the end marker
        Edit("replace", START, "gone"),
    ],
)
def test_edit_overlapping_the_protected_region_is_skipped(edit):
    """Any edit whose target touches the protected region is skipped; the body is unchanged."""
    result = apply_edits(PROTECTED, [edit])
    assert result.body == PROTECTED
    assert result.skipped == [(edit, "target overlaps the protected region")]


def test_edits_outside_the_protected_region_apply():
    """Edits anchored outside the region apply and leave the region as it was."""
    result = apply_edits(
        PROTECTED,
        [Edit("replace", "Outro line.", "Closing line."), Edit("insert_after", "Intro line.", "Second intro.")],
    )
    assert len(result.applied) == 2
    assert f"{START}\nDo not touch: alembic downgrade base.\n{END}" in result.body


def test_append_lands_above_the_protected_region():
    """``append`` goes just above the start marker, never inside or after the region."""
    result = apply_edits(PROTECTED, [Edit("append", text="New advice.")])
    body = result.body
    assert body.index("New advice.") < body.index(START)
    assert body.index("Intro line.") < body.index("New advice.")
    assert body.endswith(PROTECTED[PROTECTED.index(START) :])


def test_append_above_an_unterminated_protected_region():
    """A start marker without an end protects to the end; append still lands above it."""
    body = f"Top.\n{START}\nprotected to the end\n"
    result = apply_edits(body, [Edit("append", text="Added.")])
    assert result.body == f"Top.\n\nAdded.\n\n{START}\nprotected to the end\n"


@pytest.mark.parametrize(
    "edit",
    [
        Edit("append", text=f"sneak {START} in"),
        Edit("append", text=f"{END}"),
        Edit("replace", "Outro line.", f"{END}\nnew region {START}"),
        Edit("insert_after", "Intro line.", f"{START}\nfake\n{END}"),
    ],
)
def test_edit_text_containing_a_marker_is_skipped(edit):
    """An edit cannot add a marker (that would move or forge the protected region)."""
    result = apply_edits(PROTECTED, [edit])
    assert result.body == PROTECTED
    assert result.skipped == [(edit, "text contains a protected-region marker")]


def test_every_protected_region_is_protected():
    """A body with two protected regions protects both."""
    body = f"a\n{START}\none\n{END}\nb\n{START}\ntwo\n{END}\nc\n"
    result = apply_edits(body, [Edit("replace", "two", "2"), Edit("delete", "one")])
    assert result.body == body
    assert [why for _, why in result.skipped] == ["target overlaps the protected region"] * 2


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(alphabet="abc \n", max_size=40),
    inside=st.text(alphabet="abc \n", max_size=40),
    after=st.text(alphabet="abc \n", max_size=40),
    edits=st.lists(
        st.builds(
            Edit,
            st.sampled_from(["append", "insert_after", "replace", "delete"]),
            st.text(alphabet="abc \n", min_size=1, max_size=6),
            st.text(alphabet="abcXYZ \n", min_size=1, max_size=10),
        ),
        max_size=3,
    ),
)
def test_property_protected_region_survives_any_edits(before, inside, after, edits):
    """Whatever edits are applied, the protected region comes out byte-for-byte unchanged."""
    region = f"{START}{inside}{END}"
    result = apply_edits(before + region + after, edits)
    assert result.body.count(START) == 1 and result.body.count(END) == 1
    assert region in result.body
