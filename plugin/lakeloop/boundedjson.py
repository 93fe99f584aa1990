"""Parsing untrusted JSON objects with bounded depth and bounded memory.

Hook payloads are hostile input: ``json.loads`` on 1,500 nested arrays raises
RecursionError, and on a 31 MB array of tiny values builds Python objects
twenty times the size of the text. ``loads_object`` bounds both:

* Depth: one regular-expression pass over the bytes (strings skipped, brackets
  counted) refuses any document nested deeper than ``MAX_DEPTH`` (100) before
  ``json`` sees it.
* Memory: a document of at most ``WHOLE_BYTES`` (1 MiB) is parsed whole. A
  larger one is split into its top-level members without building them: a
  member of at most ``MEMBER_BYTES`` (256 KiB) is parsed while the members
  parsed so far total at most ``PARSED_BYTES`` (1 MiB); any other string member
  is kept as its first ``CUT_BYTES`` bytes (``Cut``), any other object or array
  member as its raw JSON text cut the same way (``RawJSON``). Member names over
  ``KEY_BYTES`` (1 KiB) and documents of over ``MAX_MEMBERS`` (10,000) members
  are refused. So the objects built from one document stay within a few tens of
  MiB whatever its size and shape, while the small fields that identify an event
  (session id, event name, tool name) are always read in full.
* Time: the scan is linear: an unterminated string ends it at once (a string is
  never re-scanned from a later quote).

Errors: ``PayloadError`` (a ``LakeloopError`` and a ``ValueError``) with a short reason; the text of
the payload never goes into the reason.
"""

from __future__ import annotations

import json
import re

from .errors import LakeloopError

#: Deepest nesting accepted (arrays and objects), counting the top-level object as 1.
MAX_DEPTH = 100
#: Documents up to this size (bytes) are parsed whole.
WHOLE_BYTES = 1024 * 1024
#: In a larger document, members up to this size (bytes of JSON text) are parsed.
MEMBER_BYTES = 256 * 1024
#: A larger member keeps this many bytes of its text.
CUT_BYTES = 512 * 1024
#: In a larger document, members are parsed only while those parsed total at most this (bytes).
PARSED_BYTES = 1024 * 1024
#: Longest member name accepted in a larger document (bytes of JSON text).
KEY_BYTES = 1024
#: Most top-level members accepted in a larger document.
MAX_MEMBERS = 10_000

_NEXT = re.compile(rb'["\[\]{}]')
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_SCALAR = re.compile(rb"[^,}\]\s]+")
_WS = re.compile(rb"[ \t\n\r]*")
_OPEN = (ord("["), ord("{"))
_CLOSE = (ord("]"), ord("}"))


class PayloadError(LakeloopError, ValueError):
    """The bytes are not a JSON object within the bounds; ``str(error)`` says why (never the
    payload's text). A ValueError too, as ``json.loads`` errors are."""


class Cut(str):
    """A string member longer than the bounds, cut to its first ``CUT_BYTES`` bytes.
    ``original_bytes`` is the length of the member's JSON text."""

    original_bytes: int = 0


class RawJSON(str):
    """An object or array member larger than the bounds: the first ``CUT_BYTES`` bytes
    of its JSON text, unparsed. ``original_bytes`` is the full text's length."""

    original_bytes: int = 0


def _tokens(data: bytes, pos: int = 0):
    """``(offset, byte)`` of each bracket outside strings from ``pos``, and of each string's
    opening quote. Linear: each string is matched once from its opening quote; an
    unterminated string raises PayloadError instead of being retried from later quotes."""
    find, string = _NEXT.search, _STRING.match
    while True:
        match = find(data, pos)
        if match is None:
            return
        at = match.start()
        ch = data[at]
        if ch == 0x22:  # '"'
            end = string(data, at)
            if end is None:
                raise PayloadError(f"unterminated string at offset {at}")
            yield at, ch
            pos = end.end()
        else:
            yield at, ch
            pos = at + 1


def depth(data: bytes) -> int:
    """Deepest nesting of arrays and objects in ``data`` (strings skipped). Linear time,
    constant memory; stops counting once past ``MAX_DEPTH``. Raises PayloadError for an
    unterminated string."""
    level = deepest = 0
    for _at, ch in _tokens(data):
        if ch in _OPEN:
            level += 1
            if level > deepest:
                deepest = level
                if deepest > MAX_DEPTH:
                    return deepest
        elif ch in _CLOSE:
            level -= 1
    return deepest


def loads_object(data: bytes) -> dict:
    """The JSON object in ``data`` (UTF-8), within the module's bounds.

    Raises PayloadError when ``data`` is not a JSON object, is nested deeper than
    ``MAX_DEPTH``, or cannot be parsed (RecursionError and MemoryError included).
    """
    if depth(data) > MAX_DEPTH:
        raise PayloadError(f"JSON nested deeper than {MAX_DEPTH} levels ({len(data)} bytes): refused")
    try:
        if len(data) <= WHOLE_BYTES:
            value = _loads(data)
        else:
            value = _members(data)
    except PayloadError:
        raise
    except (ValueError, RecursionError, MemoryError) as exc:
        raise PayloadError(f"malformed JSON ({len(data)} bytes): {type(exc).__name__}: {str(exc)[:120]}") from None
    if not isinstance(value, dict):
        raise PayloadError(f"payload is {type(value).__name__}, not a JSON object")
    return value


def _loads(data: bytes):
    # Invalid UTF-8 becomes U+FFFD rather than refusing the whole event.
    return json.loads(data.decode("utf-8", "replace"))


def _skip_ws(data: bytes, pos: int) -> int:
    match = _WS.match(data, pos)
    assert match is not None  # "[ \t\n\r]*" matches at every position, if only the empty string
    return match.end()


def _value_end(data: bytes, pos: int) -> int:
    """End offset of the JSON value starting at ``pos`` (not validated: ``json`` does that)."""
    first = data[pos : pos + 1]
    if first == b'"':
        match = _STRING.match(data, pos)
        if match is None:
            raise PayloadError("unterminated string")
        return match.end()
    if first in (b"{", b"["):
        level = 0
        for at, ch in _tokens(data, pos):
            if ch in _OPEN:
                level += 1
            elif ch in _CLOSE:
                level -= 1
                if level == 0:
                    return at + 1
        raise PayloadError("unterminated array or object")
    match = _SCALAR.match(data, pos)
    if match is None:
        raise PayloadError(f"unexpected byte at offset {pos}")
    return match.end()


def _members(data: bytes) -> dict:
    """A large top-level object member by member (see the module docstring)."""
    pos = _skip_ws(data, 0)
    if data[pos : pos + 1] != b"{":
        raise PayloadError("payload is not a JSON object")
    pos = _skip_ws(data, pos + 1)
    out: dict = {}
    parsed = 0
    if data[pos : pos + 1] == b"}":
        return out
    while True:
        match = _STRING.match(data, pos)
        if match is None:
            raise PayloadError(f"expected a member name at offset {pos}")
        if match.end() - match.start() > KEY_BYTES:
            raise PayloadError(f"member name over {KEY_BYTES} bytes")
        if len(out) >= MAX_MEMBERS:
            raise PayloadError(f"over {MAX_MEMBERS} members")
        key = _loads(match.group())
        pos = _skip_ws(data, match.end())
        if data[pos : pos + 1] != b":":
            raise PayloadError(f"expected ':' at offset {pos}")
        start = _skip_ws(data, pos + 1)
        end = _value_end(data, start)
        size = end - start
        if size <= MEMBER_BYTES and parsed + size <= PARSED_BYTES:
            out[key] = _loads(data[start:end])
            parsed += size
        elif data[start : start + 1] in (b'"', b"{", b"["):
            out[key] = _large(data, start, end)
        else:
            raise PayloadError(f"member {key[:40]!r} is a {size}-byte scalar")
        pos = _skip_ws(data, end)
        sep = data[pos : pos + 1]
        if sep == b"}":
            if data[_skip_ws(data, pos + 1) :]:
                raise PayloadError("extra data after the object")
            return out
        if sep != b",":
            raise PayloadError(f"expected ',' or '}}' at offset {pos}")
        pos = _skip_ws(data, pos + 1)


def _large(data: bytes, start: int, end: int) -> str:
    """A member too large to parse: a ``Cut`` string or ``RawJSON`` text of its first bytes."""
    if data[start : start + 1] == b'"':
        prefix = data[start + 1 : min(end - 1, start + 1 + CUT_BYTES)]
        for _ in range(8):  # drop an escape sequence split by the cut
            try:
                text = _loads(b'"' + prefix + b'"')
                break
            except ValueError:
                prefix = prefix[:-1]
        else:
            text = ""
        value: Cut | RawJSON = Cut(text)
    else:
        value = RawJSON(data[start : min(end, start + CUT_BYTES)].decode("utf-8", "replace"))
    value.original_bytes = end - start
    return value
