"""``lakeloop.agents.jsonedit``: edits of a config file's text that keep every other byte.

Property: for any JSON object laid out any way (compact, one item per line, indented with spaces
or tabs, with JSONC comments), appending a member or an element and then removing it gives back
the original text byte for byte, and everything else in the document keeps its exact bytes while
the new item is there.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeloop.agents.jsonedit import JsonEditError, append, blank_comments, parse, remove, replace

KEYS = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.text(max_size=12), st.sampled_from(["//", "/*x*/", '"'])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=12,
)
LAYOUTS = st.sampled_from([None, 2, 4, "\t", "  "])
OURS = {"matcher": "*", "hooks": [{"type": "command", "command": "'/x y/hooks/run' PreToolUse codex", "timeout": 5}]}


def _containers(node, path=()):
    """Every object/array node with its path (keys or indices) from the root."""
    if node.kind == "object":
        yield path, node
        for m in node.members:
            yield from _containers(m.value, (*path, m.key))
    elif node.kind == "array":
        yield path, node
        for i, e in enumerate(node.elements):
            yield from _containers(e, (*path, i))


def _at(value, path):
    for step in path:
        value = value[step]
    return value


@settings(max_examples=300, deadline=None)
@given(
    doc=st.dictionaries(KEYS, VALUES, max_size=5),
    layout=LAYOUTS,
    pick=st.integers(0, 10**6),
    every=st.sampled_from([0, 1, 2, 3]),
)
def test_append_then_remove_gives_back_the_original_bytes(doc, layout, pick, every):
    """Any container of any document, with ``// ...`` comments ending every ``every``-th line
    (JSONC; 0: none): append ours, the document is the old one plus ours and every other item's
    bytes are unchanged; remove it, the text is the original exactly."""
    text = json.dumps(doc, indent=layout, ensure_ascii=False) + "\n"
    if every:  # json.dumps escapes newlines inside strings, so each real one ends a line of tokens
        lines = text.split("\n")
        text = "\n".join(line + (" // note" if i % every == 0 and line else "") for i, line in enumerate(lines))
    _, root = parse(text, comments=True)
    spots = list(_containers(root))
    path, node = spots[pick % len(spots)]
    item = ("lakeloop-ours", OURS) if node.kind == "object" and "lakeloop-ours" not in _at(doc, path) else OURS
    if node.kind == "object" and item is OURS:
        return  # the key is taken: nothing to add here
    others = [text[s:e] for s, e in node.items()]

    added = append(text, node, item)
    value, new_root = parse(added, comments=True)
    container = _at(value, path)
    if node.kind == "object":
        assert container == {**_at(doc, path), "lakeloop-ours": OURS}
    else:
        assert container == [*_at(doc, path), OURS]
    new_node = dict(_containers(new_root))[path]
    assert [added[s:e] for s, e in new_node.items()][:-1] == others
    assert added[: node.start] == text[: node.start]
    assert added[new_node.end :] == text[node.end :]

    assert remove(added, new_node, len(new_node.items()) - 1) == text


JSONC = """// Gemini settings
{
  "ui": {"theme": "dark"}, /* a "quoted" comment */
  "hooks": {
    // others' hooks
    "BeforeTool": [
      {"matcher": "x", "hooks": [{"type": "command", "command": "guard // not a comment /* nor this */"}]}
    ]
  }
}
"""


def test_comments_are_kept_and_strings_that_look_like_comments_are_not_comments():
    """JSONC: comments outside strings are skipped (offsets unchanged) and kept in the text;
    ``//`` and ``/*`` inside strings stay string text."""
    value, root = parse(JSONC, comments=True)
    assert value["hooks"]["BeforeTool"][0]["hooks"][0]["command"] == "guard // not a comment /* nor this */"
    assert len(blank_comments(JSONC)) == len(JSONC)
    arr = root.member("hooks").value.member("BeforeTool").value
    added = append(JSONC, arr, OURS)
    assert "// Gemini settings" in added and '/* a "quoted" comment */' in added and "// others' hooks" in added
    assert parse(added, comments=True)[0]["hooks"]["BeforeTool"][1] == OURS
    again = parse(added, comments=True)[1].member("hooks").value.member("BeforeTool").value
    assert remove(added, again, 1) == JSONC


@pytest.mark.parametrize(
    "text",
    ['{"a": 1,}', "{'a': 1}", '{"a": /* open', "[1, 2", '{"a": 1} // a comment\n}'],
)
def test_invalid_documents_are_refused_with_a_position(text):
    """Not JSON (after comments): JsonEditError with the line and column."""
    with pytest.raises(JsonEditError) as caught:
        parse(text, comments=True)
    assert caught.value.line >= 1 and "line" in str(caught.value)


def test_comments_are_refused_in_strict_json():
    """Codex's hooks.json is strict JSON: a comment is an error there."""
    with pytest.raises(JsonEditError):
        parse('{"hooks": {}} // note')


def test_one_line_neighbours_get_one_line_items_and_indented_files_get_indented_items():
    """The new item follows its neighbours' layout."""
    compact = '{"hooks": {"Stop": [{"hooks": []}]}}'
    node = parse(compact)[1].member("hooks").value.member("Stop").value
    assert append(compact, node, {"a": [1]}) == '{"hooks": {"Stop": [{"hooks": []}, {"a": [1]}]}}'
    pretty = '{\n    "a": {\n        "b": 1\n    }\n}\n'
    node = parse(pretty)[1]
    assert (
        append(pretty, node, ("c", {"d": 2}))
        == '{\n    "a": {\n        "b": 1\n    },\n    "c": {\n        "d": 2\n    }\n}\n'
    )


def test_replace_rewrites_one_value_in_place():
    """``replace`` changes only the value's span."""
    text = '{"x": [1, {"t": 5}, 3]}'
    node = parse(text)[1].member("x").value.elements[1]
    assert replace(text, node, {"t": 6}) == '{"x": [1, {"t": 6}, 3]}'
