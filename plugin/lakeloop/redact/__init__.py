"""What is kept out of the store: secrets, ``<private>`` spans, excluded projects.

* ``redact_text(text) -> (text, kinds)`` replaces every secret found in ``text`` by
  ``[REDACTED:<kind>]``; ``kinds`` is ``{kind: count}``. ``redact_message(message)`` does it
  to every string field of a sessions row's message (content, tool_input, tool_response,
  cwd, ... but not the fields that identify the row: ``STRUCTURAL``). What counts as a
  secret: ``patterns`` (detect-secrets' regex detectors, PEM private keys, URL passwords,
  bearer headers, values of TOKEN/SECRET/PASSWORD/API_KEY-like names in ``.env`` lines, shell,
  YAML, JSON and Python mappings, passwords in command lines (``commandline``: ``-p`` where the
  program means a password), connection strings and ``.pgpass`` lines (``connection``), and a
  value following "password is"-like words in prose (``prose``); ``docs/redaction.md``), the
  Deeplake token in use, and the custom patterns (``LAKELOOP_REDACT_PATTERNS``).
  ``LAKELOOP_REDACT=0`` turns it off.
* ``hide_private_message`` (``private.hide_private`` on every text field: ``<private>`` spans)
  and ``exclude.excluded`` (``.lakeloop-ignore``, ``LAKELOOP_EXCLUDE``).

It runs in the detached drainer (``lakeloop.capture.rows.event_rows``), never in the hook
process: the local outbox (private to the user, 0600) may hold the raw event until then. The
drainer passes the settings of the session that captured the event (``enabled``,
``patterns``); callers that pass none get this process's environment. Scanners are compiled
once per set of custom patterns and Deeplake token (``get_scanner``; the last ``SCANNERS`` kept).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from .. import config

#: Message fields that identify the row or the event, never redacted (a session id that a
#: custom pattern happened to match must still group the session's rows).
STRUCTURAL = frozenset({"id", "session_id", "hook_event_name", "type", "timestamp", "tool_use_id"})
#: Message fields holding JSON text (``lakeloop.capture.rows``): kept parseable.
JSON_FIELDS = frozenset({"tool_input", "tool_response"})

#: How many scanners (one per set of custom patterns and token) a process keeps compiled.
SCANNERS = 8
_built: dict[str, Any] = {"scanners": {}}


def _log() -> logging.Logger:
    return logging.getLogger("lakeloop.redact")


def _deeplake_token() -> str:
    """The Deeplake token in use (``lakeloop.deeplake.credentials``; '' without credentials, or
    for a token under 8 characters, which would hit ordinary words). Never logged."""
    try:
        from ..deeplake.credentials import load

        creds = load()
    except Exception:  # unreadable credentials: nothing to hide
        return ""
    return creds.token if creds is not None and len(creds.token) >= 8 else ""


def get_scanner(sources: list[str] | None = None):
    """The ``scanner.Scanner`` for the custom pattern ``sources`` (regular expressions, one per
    item; None: this process's ``LAKELOOP_REDACT_PATTERNS``) and the Deeplake token in use:
    compiled on first use and kept (the ``SCANNERS`` last used)."""
    if sources is None:
        sources = config.redact_patterns()
    token = _deeplake_token()
    key = (tuple(sources), token)
    scanners: dict = _built.setdefault("scanners", {})
    if key in scanners:
        scanners[key] = scanners.pop(key)  # most recently used last
        return scanners[key]
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
    built = Scanner(build_rules(patterns, token, list(sources), _log()))
    _built["patterns"] = patterns
    scanners[key] = built
    while len(scanners) > SCANNERS:
        del scanners[next(iter(scanners))]
    return built


def redact_text(text: str, patterns: list[str] | None = None) -> tuple[str, dict[str, int]]:
    """``(text with each secret replaced by [REDACTED:<kind>], {kind: count})``, with the custom
    ``patterns`` (None: this process's ``LAKELOOP_REDACT_PATTERNS``). Redaction is applied
    whatever ``LAKELOOP_REDACT`` says (callers decide whether to call it)."""
    if not text:
        return text, {}
    return get_scanner(patterns).redact(text)


def _add(into: dict[str, int], kinds: dict[str, int]) -> None:
    for kind, count in kinds.items():
        into[kind] = into.get(kind, 0) + count


def _redact_json(value: Any, kinds: dict[str, int], scanner) -> Any:
    """Redaction on parsed JSON (the fallback when text redaction would break a field's
    JSON): every string, and string values under secret-sounding keys whole."""
    from .assign import plausible_value, secret_name

    if isinstance(value, str):
        text, found = scanner.redact(value) if value else (value, {})
        _add(kinds, found)
        return text
    if isinstance(value, list):
        return [_redact_json(v, kinds, scanner) for v in value]
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(item, str) and isinstance(key, str) and secret_name(key) and plausible_value(item):
                _add(kinds, {"assignment": 1})
                out[key] = "[REDACTED:assignment]"
            else:
                out[_redact_json(key, kinds, scanner) if isinstance(key, str) else key] = _redact_json(
                    item, kinds, scanner
                )
        return out
    return value


def _redact_field(name: str, text: str, kinds: dict[str, int], scanner) -> str:
    new, found = scanner.redact(text) if text else (text, {})
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
                new = json.dumps(_redact_json(json.loads(text), found, scanner), ensure_ascii=False)
    _add(kinds, found)
    return new


def _walk(value: Any, kinds: dict[str, int], scanner, name: str = "") -> Any:
    if isinstance(value, str):
        return _redact_field(name, value, kinds, scanner)
    if isinstance(value, list):
        return [_walk(v, kinds, scanner) for v in value]
    if isinstance(value, dict):
        return {k: (v if k in STRUCTURAL else _walk(v, kinds, scanner, k)) for k, v in value.items()}
    return value


def redact_message(
    message: dict[str, Any],
    kinds: dict[str, int] | None = None,
    *,
    enabled: bool | None = None,
    patterns: list[str] | None = None,
) -> dict[str, Any]:
    """A copy of a sessions message with every secret in its string fields (nested ones too)
    replaced, ``STRUCTURAL`` fields kept; the message itself when redaction is off.
    ``enabled`` and ``patterns`` (the custom regular expressions) are the capturing session's
    (None: this process's ``LAKELOOP_REDACT`` and ``LAKELOOP_REDACT_PATTERNS``). ``kinds``
    (when given) receives ``{kind: count}`` of what was replaced. JSON-text fields stay valid
    JSON when they were."""
    if not (config.redact_enabled() if enabled is None else enabled):
        return message
    scanner = get_scanner(patterns)
    found: dict[str, int] = {}
    out = {k: (v if k in STRUCTURAL else _walk(v, found, scanner, k)) for k, v in message.items()}
    if kinds is not None:
        _add(kinds, found)
    return out


def _hide_json(value: Any, counter: list[int]) -> Any:
    """``value`` (parsed JSON) with ``<private>`` spans hidden in every string, keys included."""
    from .private import hide_private

    if isinstance(value, str):
        text, spans = hide_private(value)
        counter[0] += spans
        return text
    if isinstance(value, list):
        return [_hide_json(v, counter) for v in value]
    if isinstance(value, dict):
        return {_hide_json(k, counter): _hide_json(v, counter) for k, v in value.items()}
    return value


def _hide_field(name: str, text: str, counter: list[int]) -> str:
    from .private import hide_private

    if "<" not in text:
        return text
    if name in JSON_FIELDS:
        try:
            parsed = json.loads(text)
        except ValueError:
            pass  # not JSON (a field cut to size): hidden as plain text below
        else:
            inner = [0]
            hidden = _hide_json(parsed, inner)
            if not inner[0]:
                return text
            counter[0] += inner[0]
            return json.dumps(hidden, ensure_ascii=False)
    new, spans = hide_private(text)
    counter[0] += spans
    return new


def _hide_walk(value: Any, counter: list[int], name: str = "") -> Any:
    if isinstance(value, str):
        return _hide_field(name, value, counter)
    if isinstance(value, list):
        return [_hide_walk(v, counter) for v in value]
    if isinstance(value, dict):
        return {k: (v if k in STRUCTURAL else _hide_walk(v, counter, k)) for k, v in value.items()}
    return value


def hide_private_message(message: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``(message, spans hidden)``: a sessions message with ``<private>`` spans
    (``private.hide_private``) hidden in every string field but the ``STRUCTURAL`` ones: the
    prompt or answer (``content``), and each string value and key of the JSON-text fields
    (``tool_input``, ``tool_response``), which stay valid JSON (a field cut to size, no longer
    JSON, is treated as plain text). Always applied: it has no setting."""
    counter = [0]
    out = {k: (v if k in STRUCTURAL else _hide_walk(v, counter, k)) for k, v in message.items()}
    return (out, counter[0]) if counter[0] else (message, 0)
