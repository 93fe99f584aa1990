"""What is kept out of the store: secrets, ``<private>`` spans, excluded projects (issue 7).

* ``redact_text(text) -> (text, kinds)`` replaces every secret found in ``text`` by
  ``[REDACTED:<kind>]``; ``kinds`` is ``{kind: count}``. ``redact_message(message)`` does it
  to every string field of a sessions row's message (content, tool_input, tool_response,
  cwd, ... but not the fields that identify the row: ``STRUCTURAL``). What counts as a
  secret: ``patterns`` (detect-secrets' regex detectors, PEM private keys, URL passwords,
  bearer headers, values of TOKEN/SECRET/PASSWORD/API_KEY-like names in ``.env`` lines and
  JSON), the Deeplake token in use, and ``LAKELOOP_REDACT_PATTERNS``.
  ``LAKELOOP_REDACT=0`` turns it off.
* ``private.hide_private`` (``<private>...</private>`` in prompts) and ``exclude.excluded``
  (``.lakeloop-ignore``, ``LAKELOOP_EXCLUDE``).

It runs in the detached drainer (``lakeloop.hooks.capture.event_rows``), never in the hook
process: the local outbox (private to the user, 0600) may hold the raw event until then.
The rules are compiled once per process (``get_scanner()``; rebuilt only when
``LAKELOOP_REDACT_PATTERNS`` or the Deeplake token changes).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from .. import config

#: Message fields that identify the row or the event, never redacted (a session id that a
#: custom pattern happened to match must still group the session's rows).
STRUCTURAL = frozenset({"id", "session_id", "hook_event_name", "type", "timestamp", "tool_use_id"})
#: Message fields holding JSON text (``lakeloop.rows``): kept parseable.
JSON_FIELDS = frozenset({"tool_input", "tool_response"})

_built: dict[str, Any] = {"key": None, "scanner": None}


def _log() -> logging.Logger:
    return logging.getLogger("lakeloop.redact")


def _deeplake_token() -> str:
    """The Deeplake token in use (``lakeloop.deeplake.credentials``; '' without credentials, or
    for a token under 8 characters, which would hit ordinary words). Never logged."""
    try:
        from ..deeplake.credentials import load

        creds = load()
    except Exception:  # noqa: BLE001 - unreadable credentials: nothing to hide
        return ""
    return creds.token if creds is not None and len(creds.token) >= 8 else ""


def get_scanner():
    """The process's ``scanner.Scanner``: built on first use, and again only when
    ``LAKELOOP_REDACT_PATTERNS`` or the Deeplake token changed."""
    sources = config.redact_patterns()
    token = _deeplake_token()
    key = (tuple(sources), token)
    if _built["key"] == key and _built["scanner"] is not None:
        return _built["scanner"]
    from .. import paths
    from .patterns import build_rules
    from .scanner import Scanner

    patterns = _built.get("patterns")
    if patterns is None:  # detect-secrets' detectors: once per process
        from .detectors import detector_patterns

        try:
            paths.private_dir(paths.data_dir())
            cache = str(paths.data_dir() / "redact-patterns.json")
        except OSError:
            cache = None
        patterns = detector_patterns(cache, _log())
    built = Scanner(build_rules(patterns, token, sources, _log()))
    _built.update(key=key, scanner=built, patterns=patterns)
    return built


def redact_text(text: str) -> tuple[str, dict[str, int]]:
    """``(text with each secret replaced by [REDACTED:<kind>], {kind: count})``. Redaction
    is applied whatever ``LAKELOOP_REDACT`` says (callers check ``config.redact_enabled``)."""
    if not text:
        return text, {}
    return get_scanner().redact(text)


def _add(into: dict[str, int], kinds: dict[str, int]) -> None:
    for kind, count in kinds.items():
        into[kind] = into.get(kind, 0) + count


def _redact_json(value: Any, kinds: dict[str, int]) -> Any:
    """Redaction on parsed JSON (the fallback when text redaction would break a field's
    JSON): every string, and string values under secret-sounding keys whole."""
    from .assign import plausible_value, secret_name

    if isinstance(value, str):
        text, found = redact_text(value)
        _add(kinds, found)
        return text
    if isinstance(value, list):
        return [_redact_json(v, kinds) for v in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(item, str) and isinstance(key, str) and secret_name(key) and plausible_value(item):
                _add(kinds, {"assignment": 1})
                out[key] = "[REDACTED:assignment]"
            else:
                out[_redact_json(key, kinds) if isinstance(key, str) else key] = _redact_json(item, kinds)
        return out
    return value


def _redact_field(name: str, text: str, kinds: dict[str, int]) -> str:
    new, found = redact_text(text)
    if not found:
        return text
    if name in JSON_FIELDS:
        try:
            json.loads(text)
        except ValueError:
            pass  # not JSON before (a cut field): nothing to keep parseable
        else:
            try:
                json.loads(new)
            except ValueError:
                found = {}
                new = json.dumps(_redact_json(json.loads(text), found), ensure_ascii=False)
    _add(kinds, found)
    return new


def _walk(value: Any, kinds: dict[str, int], name: str = "") -> Any:
    if isinstance(value, str):
        return _redact_field(name, value, kinds)
    if isinstance(value, list):
        return [_walk(v, kinds) for v in value]
    if isinstance(value, dict):
        return {k: (v if k in STRUCTURAL else _walk(v, kinds, k)) for k, v in value.items()}
    return value


def redact_message(message: dict[str, Any], kinds: dict[str, int] | None = None) -> dict[str, Any]:
    """A copy of a sessions message with every secret in its string fields (nested ones too)
    replaced, ``STRUCTURAL`` fields kept; the message itself when ``LAKELOOP_REDACT=0``.
    ``kinds`` (when given) receives ``{kind: count}`` of what was replaced. JSON-text fields
    stay valid JSON when they were."""
    if not config.redact_enabled():
        return message
    found: dict[str, int] = {}
    out = {k: (v if k in STRUCTURAL else _walk(v, found, k)) for k, v in message.items()}
    if kinds is not None:
        _add(kinds, found)
    return out
