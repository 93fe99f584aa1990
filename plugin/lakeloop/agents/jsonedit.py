"""Span-preserving edits of a JSON (or JSONC) document: add or remove one array element or one
object member and keep every other byte of the text as it was.

Agents' config files (Codex's ``hooks.json``, Gemini's ``settings.json``) belong to the user and
other tools; lakeloop adds its hook groups to them and takes them out again. A JSON round trip
(load, change, dump) would reformat the whole file and drop its comments; these functions edit
the original text instead.

* ``parse(text, comments)`` checks the document (``json.loads``; with ``comments`` the ``//`` and
  ``/* */`` comments outside strings are first blanked out, each comment character turned into a
  space and newlines kept, so offsets do not move) and returns its value and a ``Node`` tree: every
  value's ``start``/``end`` character offsets, objects' members (``key``, ``key_start``, value node)
  and arrays' elements. Raises ``JsonEditError`` with the line and column of the first fault.
* ``append(text, node, item)`` adds ``item`` (``(key, value)`` for an object, a value for an array)
  after the last member/element of ``node`` (or into the empty container), formatted like its
  neighbours: on a new line at the last item's indentation when items are one per line (else
  after the same blanks as between the last two items), written on one line when the last item
  is a container written on one line, else indented by the file's step (``indent_unit``).
  ``remove(text, node, index)`` removes member/element ``index`` with the comma and blanks that
  join it to its neighbour. For the last item that is exactly what ``append`` wrote, so
  ``remove(append(t))`` gives back ``t`` byte for byte (for an empty container: when it was written
  ``[]``/``{}``; blanks inside an empty container are not kept). ``replace(text, node, value)``
  rewrites one value in place.

The texts are ``str`` (offsets are characters). Values written are ``json.dumps`` output
(``ensure_ascii=False``), so nothing is ever spliced in unescaped.
"""

from __future__ import annotations

from ..errors import LakeloopError
from ..records import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class JsonEditError(LakeloopError, ValueError):
    """The text is not a JSON document (after comments were blanked when allowed). ``line`` and
    ``column`` (1-based) point at the fault; the message says what is wrong there."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass
class Node:
    """One JSON value in the text: ``kind`` is ``"object"``, ``"array"`` or ``"scalar"``;
    ``start``/``end`` are character offsets (``end`` exclusive); ``members`` (objects) holds
    ``Member``s in text order; ``elements`` (arrays) holds ``Node``s."""

    kind: str
    start: int
    end: int
    members: list[Member] = field(default_factory=list)
    elements: list[Node] = field(default_factory=list)

    def items(self) -> list[tuple[int, int]]:
        """``(start, end)`` of each member (from its key to the end of its value) or element."""
        if self.kind == "object":
            return [(m.key_start, m.value.end) for m in self.members]
        return [(e.start, e.end) for e in self.elements]

    def member(self, key: str) -> Member | None:
        """The last member named ``key`` (the one ``json.loads`` keeps), or None."""
        found = None
        for m in self.members:
            if m.key == key:
                found = m
        return found


@dataclass
class Member:
    """An object member: its decoded ``key``, the offset of the key's opening quote, its value."""

    key: str
    key_start: int
    value: Node


def blank_comments(text: str) -> str:
    """``text`` with every ``//...`` and ``/*...*/`` comment outside strings turned into spaces
    (newlines kept): same length, same offsets. Raises JsonEditError on an unterminated
    ``/*`` comment."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
            i += 1
        elif c == '"':
            in_string = True
            out.append(c)
            i += 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                line, col = _line_col(text, i)
                raise JsonEditError(f"unterminated /* comment (line {line}, column {col})", line, col)
            out.append("".join(ch if ch == "\n" else " " for ch in text[i : j + 2]))
            i = j + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def parse(text: str, comments: bool = False) -> tuple[Any, Node]:
    """The document's value and its ``Node`` tree. ``comments``: accept ``//`` and ``/* */``
    comments outside strings (JSONC). Raises JsonEditError (with the line and column) when the
    text is not a JSON document."""
    import json

    plain = blank_comments(text) if comments else text
    try:
        value = json.loads(plain)
    except ValueError as exc:
        line, col = getattr(exc, "lineno", 0), getattr(exc, "colno", 0)
        msg = getattr(exc, "msg", str(exc))
        raise JsonEditError(f"{msg} (line {line}, column {col})", line, col) from None
    node, _ = _Scanner(plain).value(_skip_ws(plain, 0))
    return value, node


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _skip_ws(text: str, i: int) -> int:
    n = len(text)
    while i < n and text[i] in " \t\r\n":
        i += 1
    return i


class _Scanner:
    """Spans of a text ``json.loads`` accepted (so no error handling is needed here)."""

    def __init__(self, text: str) -> None:
        self.text = text
        import json

        self.decoder = json.JSONDecoder()

    def value(self, i: int) -> tuple[Node, int]:
        c = self.text[i]
        if c == "{":
            return self._object(i)
        if c == "[":
            return self._array(i)
        _, end = self.decoder.raw_decode(self.text, i)
        return Node("scalar", i, end), end

    def _object(self, start: int) -> tuple[Node, int]:
        node = Node("object", start, start)
        i = _skip_ws(self.text, start + 1)
        while self.text[i] != "}":
            key, after = self.decoder.raw_decode(self.text, i)
            i = _skip_ws(self.text, after)  # at ':'
            value, i = self.value(_skip_ws(self.text, i + 1))
            node.members.append(Member(key, self._key_start(after), value))
            i = _skip_ws(self.text, i)
            if self.text[i] == ",":
                i = _skip_ws(self.text, i + 1)
        node.end = i + 1
        return node, i + 1

    def _key_start(self, key_end: int) -> int:
        """Offset of the opening quote of the key string that ends at ``key_end``."""
        i = key_end - 2
        while True:
            if self.text[i] == '"':
                backslashes = 0
                j = i - 1
                while self.text[j] == "\\":
                    backslashes += 1
                    j -= 1
                if backslashes % 2 == 0:
                    return i
            i -= 1

    def _array(self, start: int) -> tuple[Node, int]:
        node = Node("array", start, start)
        i = _skip_ws(self.text, start + 1)
        while self.text[i] != "]":
            element, i = self.value(i)
            node.elements.append(element)
            i = _skip_ws(self.text, i)
            if self.text[i] == ",":
                i = _skip_ws(self.text, i + 1)
        node.end = i + 1
        return node, i + 1


def indent_unit(text: str) -> str:
    """The file's indentation step: a tab when indented lines start with tabs, else the smallest
    step between the space indentations in use (the first level, or the gap between two
    levels); two spaces for a file on one line."""
    widths: set[int] = set()
    for line in text.split("\n")[1:]:
        stripped = line.lstrip(" \t")
        if stripped and stripped != line:
            if line.startswith("\t"):
                return "\t"
            widths.add(len(line) - len(stripped))
    if not widths:
        return "  "
    levels = sorted(widths)
    step = min([levels[0]] + [b - a for a, b in zip(levels, levels[1:])])
    return " " * step


def _line_indent(text: str, offset: int) -> str:
    """The blanks at the start of the line holding ``offset``."""
    begin = text.rfind("\n", 0, offset) + 1
    end = begin
    while end < len(text) and text[end] in " \t":
        end += 1
    return text[begin:end]


def dumps(value: Any, indent: str | None, base: str = "") -> str:
    """``value`` as JSON text: one line (``", "``/``": "`` separators) when ``indent`` is None,
    else one item per line indented by ``indent`` with every line after the first prefixed by
    ``base``."""
    import json

    if indent is None:
        return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return json.dumps(value, ensure_ascii=False, indent=indent).replace("\n", "\n" + base)


def append(text: str, node: Node, item: Any) -> str:
    """``text`` with ``item`` added as the last member (``node`` an object; ``item`` is
    ``(key, value)``) or element (``node`` an array), formatted like its neighbours (see the
    module docstring). Raises ValueError when ``node`` is a scalar."""
    if node.kind == "scalar":
        raise ValueError("append needs an object or an array")
    spans = node.items()
    unit = indent_unit(text)
    if not spans:  # empty container: one indented item when the file is laid out on lines
        close_indent = _line_indent(text, node.end - 1)
        multiline = "\n" in text.strip()
        child = close_indent + unit if multiline else ""
        lead = ("\n" + child) if multiline else ""
        body = _item_text(node, item, unit if multiline else None, child)
        if text[node.start + 1 : node.end - 1].strip() == "":
            tail = ("\n" + close_indent) if multiline else ""
            return text[: node.start + 1] + lead + body + tail + text[node.end - 1 :]
        return text[: node.start + 1] + lead + body + text[node.start + 1 :]
    last_start, last_end = spans[-1]
    if len(spans) >= 2:
        sep = text[text.index(",", spans[-2][1], last_start) + 1 : last_start]
    else:
        sep = text[node.start + 1 : last_start]
    if "\n" in sep:  # one item per line: a new line at the last item's indentation
        child = _line_indent(text, last_start)
        lead = "\n" + child
    else:
        child = ""
        lead = sep if sep.strip() == "" and (sep or len(spans) >= 2) else " "
    # laid out on lines, unless the neighbour is a container written on one line (keep that style)
    last = node.members[-1].value if node.kind == "object" else node.elements[-1]
    one_line_container = last.kind != "scalar" and "\n" not in text[last.start : last.end]
    multiline = "\n" in sep and not one_line_container
    body = _item_text(node, item, unit if multiline else None, child)
    return text[:last_end] + "," + lead + body + text[last_end:]


def _item_text(node: Node, item: Any, indent: str | None, base: str) -> str:
    import json

    if node.kind == "object":
        key, value = item
        return json.dumps(key, ensure_ascii=False) + ": " + dumps(value, indent, base)
    return dumps(item, indent, base)


def remove(text: str, node: Node, index: int) -> str:
    """``text`` without member/element ``index`` of ``node`` and the comma and blanks joining it
    to a neighbour: the last item takes the separator before it; the first of several takes the
    one after it; a sole item leaves ``[]``/``{}`` when only blanks surround it. Raises
    IndexError for a bad index."""
    spans = node.items()
    start, end = spans[index]
    if len(spans) == 1:
        before, after = text[node.start + 1 : start], text[end : node.end - 1]
        if before.strip() == "" and after.strip() == "":
            return text[: node.start + 1] + text[node.end - 1 :]
        return text[: node.start + 1] + text[end:] if before.strip() == "" else text[:start] + text[end:]
    if index == len(spans) - 1:
        return text[: spans[index - 1][1]] + text[end:]
    return text[:start] + text[spans[index + 1][0] :]


def replace(text: str, node: Node, value: Any) -> str:
    """``text`` with the value ``node`` spans rewritten as ``value``, laid out like the
    original (on one line when it was, else indented from the line it starts on)."""
    old = text[node.start : node.end]
    indent = None if "\n" not in old else indent_unit(text)
    return text[: node.start] + dumps(value, indent, _line_indent(text, node.start)) + text[node.end :]
