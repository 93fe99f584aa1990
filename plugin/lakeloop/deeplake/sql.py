"""SQL text building for Deeplake: the one place values are escaped.

The tables API takes SQL text only (no bound parameters), so escaping is the
security boundary (docs/deeplake-store.md, "Requests"):

* ``literal(value)``: ``E'...'`` with ``\\`` doubled and ``'`` doubled; NUL and
  other control characters except tab, newline and carriage return dropped.
  Numbers and booleans are rendered as numbers; None as NULL.
* ``ident(name)``: ``"name"`` for names matching ``[A-Za-z_][A-Za-z0-9_]*``,
  else ValueError (table names come from configuration).
* ``like_contains(text)``: a ``LIKE`` pattern matching ``text`` anywhere, with
  ``%``, ``_`` and ``\\`` escaped, followed by ``ESCAPE '\\'``.
* ``jsonb(obj)``: ``literal(json text)::jsonb``.
"""

from __future__ import annotations

import json
import re

from ..errors import RequestRefused

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean(text: str) -> str:
    """``text`` without NUL and control characters (tab, newline, CR kept), and with
    lone surrogates replaced (they cannot be sent as UTF-8)."""
    text = _CONTROL.sub("", text)
    return text.encode("utf-8", "replace").decode("utf-8") if _has_surrogate(text) else text


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def literal(value: Any) -> str:
    """A SQL literal for ``value`` (str, int, float, bool or None)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("non-finite float has no SQL literal")
        return repr(value)
    text = clean(str(value)).replace("\\", "\\\\").replace("'", "''")
    return f"E'{text}'"


class IdentifierRefused(RequestRefused, ValueError):
    """A table or column name that is not a plain SQL identifier (``[A-Za-z_][A-Za-z0-9_]*``, at
    most 63 characters). Table names come from settings (``LAKELOOP_*_TABLE``), so the message
    says so; a ``lakeloop`` command ends with exit 2."""


def ident(name: str) -> str:
    """A quoted identifier; raises IdentifierRefused (a ValueError) for anything but
    ``[A-Za-z_][A-Za-z0-9_]*`` of at most 63 characters."""
    if not isinstance(name, str) or not _IDENT.fullmatch(name) or len(name) > 63:
        raise IdentifierRefused(
            f"refused identifier {str(name)[:40]!r}: must match [A-Za-z_][A-Za-z0-9_]* "
            "(check the LAKELOOP_*_TABLE settings)"
        )
    return f'"{name}"'


def like_contains(text: str) -> str:
    """``LIKE`` operand matching ``text`` anywhere: ``E'%...%' ESCAPE '\\'``."""
    escaped = clean(text).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{literal('%' + escaped + '%')} ESCAPE '\\'"


def _clean_obj(obj: Any) -> Any:
    if isinstance(obj, str):
        return clean(obj)
    if isinstance(obj, dict):
        return {clean(str(k)): _clean_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean_obj(v) for v in obj]
    return obj


def jsonb(obj: Any) -> str:
    """A ``jsonb`` literal of ``obj``; control characters are dropped from its strings first
    (PostgreSQL's jsonb refuses ``\u0000``)."""
    return f"{literal(json.dumps(_clean_obj(obj), ensure_ascii=False))}::jsonb"


def in_list(values: Iterable[Any]) -> str:
    """``(v1, v2, ...)`` of literals; raises ValueError when empty."""
    items = [literal(v) for v in values]
    if not items:
        raise ValueError("empty IN list")
    return "(" + ", ".join(items) + ")"
