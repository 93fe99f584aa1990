"""``<private>...</private>`` in captured text: the span is never stored.

The rule, applied to one text (a prompt, an answer, one string of a tool's input or output):

* A tag is ``<`` then ``private`` (or ``/private`` for a closing tag), in any case, with spaces
  allowed after ``<`` and around ``/``; ``private`` must end there (``<privateKey>`` is not a tag).
* Attributes follow, up to the ``>`` that ends the tag. Inside a tag, a ``"`` or ``'`` opens a
  quoted part that runs to the same quote: ``>``, ``<`` and ``</private>`` in it belong to the
  tag (``<private note="</private>">SECRET</private>`` hides SECRET). Outside quoted parts the
  tag ends at the first ``>``, or just before a ``<`` (a tag with no ``>`` still counts, up to
  there); so an unquoted value (``<private reason=pw>``) stops at ``>``. Every quote counts,
  also one in the middle of an unquoted value (``a=b"c``, which HTML would keep as a letter):
  that can only make a tag run on further.
* A quoted part with no closing quote runs to the end of the text, and so does its tag: an
  opening tag with one hides the rest of the text; after a closing tag with one the rest of the
  text is hidden too (one ``[PRIVATE]`` with the span it closes, if any).
* Spans nest: the outermost opening tag and its matching closing tag, everything between them
  included, become one ``[PRIVATE]`` (``x <private>a <private>b</private> c</private> y`` ->
  ``x [PRIVATE] y``).
* An opening tag never closed, or a self-closing one (``<private/>``, ``<private reason="x" />``),
  hides everything from it to the end of the text.
* A closing tag with no opening tag before it (a stray ``</private>``) is removed, the text around
  it kept, wherever it occurs (also in a text that holds no span).

So the result never holds a ``<private`` or ``</private`` tag. Removing a stray closing tag could
join the text around it into a new tag (``<</private>private>``): in that case (only crafted text
does it) everything from that new tag to the end is hidden as well. Time is linear in the text's
length whatever it holds: one regular-expression pass whose tag pattern cannot fail once
``private`` is read (so it never backtracks), and whose only open-ended part, a quoted part
with no closing quote, ends the text. Each text is its own unit: a span opened in one string of
a tool's JSON input does not continue into the next string.
"""

from __future__ import annotations

import re

MARK = "[PRIVATE]"
#: One tag. Group ``close``: the ``/`` of a closing tag; ``rest``: its attributes, up to (not
#: including) the ``>`` or ``<`` that ends it, or the end of the text; ``runaway`` (``runaway2``):
#: set when a double- (single-) quoted part has no closing quote (``rest`` then runs to the end of
#: the text); ``end``: the ``>`` when there is one. Nothing after ``private`` can fail to match,
#: so the pattern never backtracks into the attributes.
_TAG = re.compile(
    r"""<\s*(?P<close>/\s*)?private(?![\w.:-])
        (?P<rest>(?: [^<>"']+ | "[^"]*(?:"|(?P<runaway>\Z)) | '[^']*(?:'|(?P<runaway2>\Z)) )*)
        (?P<end>>?)""",
    re.IGNORECASE | re.VERBOSE,
)


def _hide(text: str) -> tuple[str, int]:
    """One pass of the rule (see the module docstring); ``(text, spans hidden + stray closing
    tags removed)``."""
    out: list[str] = []
    depth = 0
    start = 0  # where the text not yet copied to ``out`` begins
    changes = 0
    for tag in _TAG.finditer(text):
        runaway = tag.group("runaway") is not None or tag.group("runaway2") is not None
        if tag.group("close") is not None:
            if depth == 0:  # stray closing tag: drop the tag, keep the text around it
                out.append(text[start : tag.start()])
                start = tag.end()
                changes += 1
                if runaway:  # its quoted value took the rest of the text with it
                    out.append(MARK)
                continue
            depth -= 1
            if depth == 0:  # the outermost span ends (with a runaway quote: at the end of the text)
                out.append(MARK)
                changes += 1
                start = tag.end()
            continue
        if depth == 0:  # the outermost opening tag: the text before it is kept
            out.append(text[start : tag.start()])
        depth += 1
        if tag.group("rest").rstrip().endswith("/") and tag.group("end"):  # <private/>: to the end
            break
    if depth:  # unclosed (or self-closing): hidden from the outermost opening tag to the end
        out.append(MARK)
        changes += 1
    else:
        out.append(text[start:])
    return "".join(out), changes


def hide_private(text: str) -> tuple[str, int]:
    """``(text with each <private> span replaced by [PRIVATE] and each stray closing tag removed,
    number of such changes)``; see the module docstring for the rule. The count is 0 exactly
    when ``text`` is returned as it is (it holds no tag)."""
    if "<" not in text or _TAG.search(text) is None:
        return text, 0
    out, changes = _hide(text)
    joined = _TAG.search(out)
    if joined is not None:  # a tag formed by removing a stray closing tag: hide from it to the end
        out, changes = out[: joined.start()] + MARK, changes + 1
    return out, changes
