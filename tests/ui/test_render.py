"""The dashboard's template filters (``lakeloop.ui.render``): ``visible`` and ``local_time`` are
total: any stored value (None, numbers, containers nested too deep to print, an int too long to
print, a ``Markup``, control and bidi characters, out-of-range times) gives plain escaped text and
never raises; rendered through the real environment, markup stays escaped."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from lakeloop.ui.render import environment, local_time, visible


def _deep(levels: int) -> list:
    top: list = []
    inner = top
    for _ in range(levels):
        inner.append([])
        inner = inner[0]
    return top


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, ""),
        ("", ""),
        ("plain", "plain"),
        ("bell\x07 esc\x1b rtl\u202e", "bell\\x07 esc\\x1b rtl\\u202e"),
        (0, "0"),
        (3.5, "3.5"),
        (True, "True"),
        (["a\x1b"], "['a\\x1b']"),
        ({"k": None}, "{'k': None}"),
        (10**5000, "(int)"),  # more digits than int -> str allows
        (_deep(100_000), "(list)"),  # nested too deep to print
        ("\ud800", "\\ud800"),  # a lone surrogate
    ],
    ids=lambda v: type(v).__name__,  # pytest cannot print 10**5000 itself
)
def test_visible_is_total(value, shown):
    out = visible(value)
    assert out == shown and type(out) is str


def test_visible_never_passes_markup_through():
    out = visible(Markup("<b>bold</b>"))
    assert type(out) is str and not isinstance(out, Markup)
    html = environment().from_string("{{ v | visible }}").render(v=Markup("<img src=x>"))
    assert html == "&lt;img src=x&gt;"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, ""),
        ("", ""),
        ("not a time\x1b", "not a time\\x1b"),
        (12, "12"),
        ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),  # past the last local year east of UTC
    ],
)
def test_local_time_is_total(value, shown, monkeypatch):
    import time

    monkeypatch.setenv("TZ", "JST-9")
    time.tzset()
    try:
        assert local_time(value) == shown
        assert local_time("2026-03-01T00:00:00.000000Z") == "2026-03-01 09:00"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_the_filters_render_any_value_in_a_template():
    template = environment().from_string("{{ a | visible }}|{{ b | local_time }}|{{ c | visible }}")
    assert template.render(a=None, b=None, c=[1, "<x>"]) == "||[1, &#39;&lt;x&gt;&#39;]"
