"""``grep -NUM`` in the memory path's Bash parser (``lakeloop.memory.bash.options``).

A ``-NUM`` context count is read as the digits a regex ``\\d`` takes. Characters that
``str.isdigit`` calls digits but ``\\d`` does not (superscripts, circled numbers) are not a
count: they are refused like any other unknown flag, with the parser's one error
(``CommandRefused``), never a crash.
"""

from __future__ import annotations

import pytest

from lakeloop.memory.bash.parser import parse
from lakeloop.memory.bash.syntax import CommandRefused

HOME = "/home/u"
ROOT = "/home/u/.deeplake/memory"


def _parse(command: str):
    return parse(command, root=ROOT, home=HOME, cwd=HOME)


@pytest.mark.parametrize("flag", ["-\u00b2", "-\u2460", "-3\u00b2", "-n\u00b9"])
def test_digit_like_characters_are_refused_as_unknown_flags(flag):
    assert flag[1:].replace("n", "").isdigit()  # what used to pick the -NUM branch
    with pytest.raises(CommandRefused) as info:
        _parse(f"grep {flag} foo {ROOT}/notes/a.md")
    assert "not supported" in info.value.reason


@pytest.mark.parametrize("flag, context", [("-2", 2), ("-n3", 3), ("-12", 12)])
def test_ascii_context_counts_still_parse(flag, context):
    script = _parse(f"grep {flag} foo {ROOT}/notes/a.md")
    assert script is not None
    opts = script.stages[0].options["grep"]
    assert (opts.before, opts.after, opts.context_given) == (context, context, True)
