"""``lakeloop.textsafe``: the one escaping function for stored text shown to the agent or a
terminal. Its character class is the Unicode rule it documents, escapes are visible and
idempotent, tab and newline (so line numbers) are kept, JSON output keeps its value."""

from __future__ import annotations

import json
import sys
import unicodedata

import pytest

from lakeloop.textsafe import UNSAFE, escape, escape_json

CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def test_the_class_is_exactly_the_documented_categories():
    """Every Cc/Cf/Zl/Zp/Cs character but tab and newline is escaped; nothing else is, except
    characters this Python's Unicode database does not know yet (``UNSAFE`` is Unicode 15)."""
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        category = unicodedata.category(ch)
        if category in CATEGORIES and ch not in "\t\n":
            assert UNSAFE.fullmatch(ch), f"U+{cp:04X} ({category}) is not escaped"
        elif UNSAFE.fullmatch(ch):
            assert category == "Cn", f"U+{cp:04X} ({category}) is escaped"


@pytest.mark.parametrize(
    "raw,shown",
    [
        ("\x1b]0;T\x07", "\\x1b]0;T\\x07"),
        ("a\x00b\x7fc\x9bd", "a\\x00b\\x7fc\\x9bd"),
        ("\r\n", "\\x0d\n"),
        ("\u202egnp.exe", "\\u202egnp.exe"),
        ("\u2066x\u2069\u200e\u200f\u061c", "\\u2066x\\u2069\\u200e\\u200f\\u061c"),
        ("tag\U000e0041\U000e0042", "tag\\U000e0041\\U000e0042"),
        ("zero\u200bwidth\ufeff", "zero\\u200bwidth\\ufeff"),
        ("line\u2028sep", "line\\u2028sep"),
        ("lone\ud800", "lone\\ud800"),
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("café ✓ 日本 \U0001f600 back\\slash", "café ✓ 日本 \U0001f600 back\\slash"),
    ],
)
def test_escapes_are_visible_and_the_rest_is_kept(raw, shown):
    assert escape(raw) == shown
    assert escape(shown) == shown  # idempotent
    assert escape(raw).count("\n") == raw.count("\n")


def test_clean_text_is_returned_as_is():
    text = "plain text\twith a tab\n" * 100
    assert escape(text) is text and escape_json(text) is text


def test_json_keeps_its_value_and_shows_no_raw_character():
    value = {"t": "\x1b]52;c;eA==\x07 \u202e \x9b \x7f \U000e0041 ok \U0001f600"}
    shown = escape_json(json.dumps(value, ensure_ascii=False))
    assert UNSAFE.search(shown) is None
    assert json.loads(shown) == value


@pytest.mark.parametrize(
    "raw,shown",
    [
        ("a\nb\tc", "a\\nb\\tc"),
        ("\x1b[2J\n", "\\x1b[2J\\n"),
        ("plain", "plain"),
    ],
)
def test_escape_line_keeps_quoted_text_on_one_line(raw, shown):
    from lakeloop.textsafe import escape_line

    assert escape_line(raw) == shown
