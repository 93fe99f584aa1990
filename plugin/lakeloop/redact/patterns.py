"""Every rule redaction applies, and lakeloop's own ones.

``build_rules`` assembles, highest priority first:

* detect-secrets' regex detectors (``lakeloop.redact.detectors``);
* ``own_rules()``: token shapes detect-secrets 1.5 does not know (``EXTRA_TOKENS``: Anthropic,
  newer OpenAI and fine-grained GitHub keys, Stripe test keys, Google and Hugging Face keys);
  PEM private key blocks (the whole BEGIN..END block, or BEGIN and the key lines after it
  when the END was cut off) and PuTTY key files; the password in ``scheme://user:pass@host``
  (user and host kept); ``Authorization``/``Bearer``/``X-Api-Key`` header values and values
  assigned to secret-holding names (``lakeloop.redact.assign``); passwords on command lines
  (``lakeloop.redact.commandline``), in connection strings, ``.pgpass`` lines and SQL
  (``lakeloop.redact.connection``) and in prose (``lakeloop.redact.prose``);
* the Deeplake token in use, wherever it appears;
* ``LAKELOOP_REDACT_PATTERNS`` (kind ``custom``).

Git commit hashes, UUIDs and hex or base64-looking identifiers match none of them: no
entropy-based rule is used. Each rule has needles (or a gate): a text holding none is skipped
without running it.
"""

from __future__ import annotations

import re

from .assign import NEEDLES as ASSIGN_NEEDLES
from .assign import find_assignments, find_headers, plausible_value
from .commandline import NEEDLES as COMMAND_NEEDLES
from .commandline import find_commands
from .connection import NEEDLES as CONNINFO_NEEDLES
from .connection import SQL_NEEDLES, find_conninfo, find_pgpass, find_sql
from .prose import NEEDLES as PROSE_NEEDLES
from .prose import find_prose
from .rules import TOKEN_TAIL, Rule, custom_rules, literal_rule, regex_rule

#: Token shapes detect-secrets 1.5 does not know, ``(kind, regex, lower-case needles)``; each
#: must start with a letter or digit that no letter or digit precedes.
EXTRA_TOKENS = (
    ("anthropic_key", r"sk-ant-[A-Za-z0-9_\-]{20,}", ("sk-ant-",)),
    ("openai_key", r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}", ("sk-proj-", "sk-svcacct-", "sk-admin-")),
    ("github_token", r"github_pat_[A-Za-z0-9_]{22,}", ("github_pat_",)),
    ("stripe_key", r"[rs]k_(?:live|test)_[0-9A-Za-z]{16,}", ("k_live_", "k_test_")),
    ("google_api_key", r"AIza[0-9A-Za-z_\-]{35}", ("aiza",)),
    ("huggingface_token", r"hf_[A-Za-z0-9]{30,}", ("hf_",)),
)

_PEM = re.compile(
    r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    r"(?:(?:[^\"\\]|\\.){0,65536}?-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----"
    r"|(?:(?:\r?\n|\\r|\\n|[ \t])+(?:[A-Za-z0-9+/=]{8,}|[A-Za-z\-]+: [^\n\\\"]*))*)"
)
_PUTTY = re.compile(r"PuTTY-User-Key-File-\d: (?:[^\"\\]|\\.){0,65536}?(?:Private-MAC: [0-9a-f]+|$)")
#: ``://user:password@host``: anchored on ``://`` (a literal start keeps the regex fast).
_URL_PASSWORD = re.compile(r"://[^\s:/?#@\"'\\<>]{0,256}:(?P<value>[^\s/?#@\"'\\<>]{1,256})@(?=[A-Za-z0-9\[])")


#: A ``.pgpass`` line has a port (or ``*``) between colons: ``host:5432:db:user:password``.
_PGPASS_GATE = re.compile(r":(?:\d{1,5}|\*):[^:\s]+:[^:\s]+:")


def _pgpass_gate(text: str) -> bool:
    return ":" in text and _PGPASS_GATE.search(text) is not None


def _url_check(match: re.Match, value: str) -> bool:
    return plausible_value(value) and not value.startswith("{")


def own_rules() -> list[Rule]:
    """lakeloop's rules (see the module docstring)."""
    rules = [
        regex_rule(kind, re.compile(source), 100, group=0, tail=TOKEN_TAIL, left_boundary=True, needles=needles)
        for kind, source, needles in EXTRA_TOKENS
    ]
    rules += [
        regex_rule("private_key", _PEM, 90, group=0, needles=("private key",)),
        regex_rule("private_key", _PUTTY, 90, group=0, needles=("putty-user-key-file",)),
        regex_rule("url_password", _URL_PASSWORD, 70, group="value", check=_url_check, needles=("://",)),
        Rule("bearer_token", 60, find_headers, needles=("authorization", "bearer", "x-api-key")),
        Rule("assignment", 50, find_assignments, needles=ASSIGN_NEEDLES),
        Rule("command_line", 55, find_commands, needles=COMMAND_NEEDLES),
        Rule("connection_string", 55, find_conninfo, needles=CONNINFO_NEEDLES),
        Rule("pgpass", 55, find_pgpass, gate=_pgpass_gate),
        Rule("sql_password", 55, find_sql, needles=SQL_NEEDLES),
        Rule("prose", 40, find_prose, needles=PROSE_NEEDLES),
    ]
    return rules


def build_rules(detector_patterns: list[tuple[str, str, int]], token: str, custom: list[str], log) -> list[Rule]:
    """All rules: detect-secrets' (``detectors.detector_patterns``), lakeloop's, the Deeplake
    ``token`` ('' for none) and the ``custom`` regexes (``LAKELOOP_REDACT_PATTERNS``)."""
    from .detectors import detector_rules

    rules = detector_rules(detector_patterns) + own_rules()
    if token:
        rules.append(literal_rule("deeplake_token", token))
    return rules + custom_rules(custom, log)
