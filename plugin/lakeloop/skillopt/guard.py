"""Guarded releases: is an optimizer change small and plain enough to publish unreviewed?

Issue 7, point 4. A team skill is code every teammate's agent runs, and the
optimizer's edits come from a model that read an untrusted transcript. So a change
is published without a person only when ``check`` finds nothing; otherwise the
worker holds it as a proposal (``lakeloop skills proposals``) with these reasons.

The rules:

* the front matter (the ``---`` block at the top of SKILL.md) is never changed;
* each edit's text is at most ``MAX_EDIT_TEXT`` (800) characters;
* the whole change, measured on a diff (difflib) of the old and new body as characters
  added plus characters removed, is at most ``max(MAX_CHANGE, len(old) // 4)``
  (1500, or a quarter of the body when that is larger);
* at most a quarter of the body is removed (a delete edit's target, and the removed
  characters of the diff: a replace is a delete plus an insert);
* no risky construct is added (``RULES``): a URL or host the skill does not already
  name, a download (curl, wget, ...), a pipe or process substitution into a shell or
  interpreter, inline interpreter code (``python3 -c``, ``sh -c``, ...), eval/exec,
  base64 decoding, a long opaque string, ``allowed-tools``, a hook definition, agent or
  shell settings, credential files, invisible or bidi control characters, words mixing
  Latin with look-alike Greek/Cyrillic letters, and instructions to ignore earlier
  instructions, skip confirmation or send data elsewhere.

"Added" means: the construct occurs in an edit's text, or occurs more often in the new
body than in the old one (an edit that joins two harmless fragments into ``curl`` is
caught that way). An edit that rewrites a line already holding ``curl`` is held too:
the check is conservative, a person can accept (``lakeloop skills accept``).

Obfuscation handled before matching: Unicode compatibility forms (NFKD: full-width
letters, ligatures), combining marks, zero-width and other format characters, case,
runs of spaces and newlines, backslash-newline continuations, shell quoting
(``c'u'rl``, ``"cu"rl``, ``c\\url``), ``$IFS`` as a space, and a small table of
Greek/Cyrillic letters that look Latin (``сurl`` with a Cyrillic ``с``).

Residual risk (not caught): full Unicode confusables beyond that table (Armenian,
Cherokee, mathematical letters NFKD does not fold, ...), commands assembled at run
time from variables (``a=cu; b=rl; $a$b``), bare host names with an uncommon TLD or a
TLD that is also a file extension (``evil.sh``: a URL with a scheme, an e-mail address,
an IP or ``//host`` is always caught), and instructions phrased in words the patterns
do not know. These rules narrow what an unreviewed change can do; they are not a
sandbox. ``LAKELOOP_SKILL_REVIEW=all`` holds every change.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from .parse import Edit

#: Longest text of one edit, characters (issue 7).
MAX_EDIT_TEXT = 800
#: Largest whole change, characters added + removed, unless a quarter of the body is larger (issue 7).
MAX_CHANGE = 1500
#: A change may touch up to 1/BODY_SHARE of the body, and remove at most that much (a quarter).
BODY_SHARE = 4
#: A run of this many base64/hex-like characters is a "long opaque string".
OPAQUE_RUN = 100
#: Above this many characters (old + new), the diff is not computed: the change counts
#: as everything removed and added (conservative, and bounded in time).
DIFF_LIMIT = 1_000_000
#: Unchanged characters scanned on each side of the changed region (longer than any rule's match).
CONTEXT = 512
#: A changed region or edit text longer than this is not scanned for risky constructs (it is held
#: as too large to scan): the scan costs about 5 microseconds a character.
SCAN_LIMIT = 100_000
#: ``replace`` blocks of the line diff up to this many characters are diffed per character.
CHAR_DIFF_LIMIT = 4000

FRONT_MATTER_CHANGED = "front matter changed"
EDIT_TEXT_TOO_LONG = f"edit text over {MAX_EDIT_TEXT} chars"
NEW_HOST = "adds URL/host not in the skill"

_FRONT = re.compile(r"\A\ufeff?\s*---[ \t]*\r?\n(?:.*?\r?\n)??---[ \t]*(?:\r?\n|\Z)", re.S)


def front_matter(body: str) -> str:
    """The front matter block at the top of ``body`` (``---`` lines included, leading
    BOM/blank lines included), or ``""`` when it has none."""
    match = _FRONT.match(body)
    return match.group(0) if match else ""


# -- change size ------------------------------------------------------------------------------

def common_ends(old: str, new: str) -> tuple[int, int]:
    """``(prefix, suffix)``: lengths of the longest common prefix and suffix of ``old`` and
    ``new`` that do not overlap (slice comparisons, so fast on megabytes)."""
    def common(a: str, b: str) -> int:
        lo, hi = 0, min(len(a), len(b))
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if a[:mid] == b[:mid]:
                lo = mid
            else:
                hi = mid - 1
        return lo

    prefix = common(old, new)
    suffix = common(old[prefix:][::-1], new[prefix:][::-1])
    return prefix, suffix


def change_size(old: str, new: str) -> tuple[int, int]:
    """``(added, removed)`` characters between ``old`` and ``new``: the common prefix and
    suffix are cut off, the rest is diffed by lines (difflib), and changed blocks of up to
    ``CHAR_DIFF_LIMIT`` characters are diffed per character. When the rest is over
    ``DIFF_LIMIT`` characters, all of it counts as removed and added (conservative)."""
    if old == new:
        return 0, 0
    prefix, suffix = common_ends(old, new)
    old, new = old[prefix:len(old) - suffix], new[prefix:len(new) - suffix]
    if len(old) + len(new) > DIFF_LIMIT:
        return len(new), len(old)
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    added = removed = 0
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b).get_opcodes():
        if op == "equal":
            continue
        old_part, new_part = "".join(a[i1:i2]), "".join(b[j1:j2])
        if op == "replace" and len(old_part) + len(new_part) <= CHAR_DIFF_LIMIT:
            chars = difflib.SequenceMatcher(None, old_part, new_part, autojunk=False)
            for cop, ci1, ci2, cj1, cj2 in chars.get_opcodes():
                if cop != "equal":
                    removed += ci2 - ci1
                    added += cj2 - cj1
        else:
            removed += len(old_part)
            added += len(new_part)
    return added, removed


def change_limit(old: str) -> int:
    """Largest allowed change for a body ``old``: ``max(MAX_CHANGE, len(old) // 4)`` characters."""
    return max(MAX_CHANGE, len(old) // BODY_SHARE)


# -- normalisation ----------------------------------------------------------------------------

#: Greek and Cyrillic letters that look like Latin ones (a deliberately small table).
_CONFUSABLES = str.maketrans({
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p", "с": "c",
    "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "һ": "h", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "ӏ": "l", "ɡ": "g", "ο": "o", "α": "a", "ν": "v", "ρ": "p", "ι": "i", "κ": "k", "υ": "u",
    "χ": "x", "ϲ": "c", "ε": "e", "τ": "t", "μ": "u",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "Х": "X", "У": "Y", "Ѕ": "S", "І": "I", "Ј": "J", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H",
    "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
})
_DROPPED = {"Mn", "Me", "Cf", "Cs", "Co"}


_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")


@functools.lru_cache(maxsize=4096)
def _dropped(ch: str) -> str:
    return "" if unicodedata.category(ch) in _DROPPED else ch


def _visible(text: str, fold: bool) -> str:
    """NFKD (NFKC for host names: ``fold`` False) without combining marks, format and
    control characters; line breaks of every kind become ``\\n``."""
    text = unicodedata.normalize("NFKD" if fold else "NFKC", text)
    text = _CONTROLS.sub("", _LINE_BREAKS.sub("\n", text))
    if not text.isascii():
        text = _NON_ASCII.sub(lambda m: _dropped(m.group(0)), text)
    return text


_IFS = re.compile(r"\$\{?ifs\}?|\$@|\$\*", re.I)
_QUOTES = re.compile(r"[\\'\"]")


def forms(text: str) -> dict[str, str]:
    """The views of ``text`` the rules match against: ``lines`` (normalised, look-alikes
    mapped, newlines kept), ``flat`` (whitespace runs and continuations collapsed to one
    space) and ``bare`` (``flat`` without shell quoting: quotes, backslashes, ``$IFS``)."""
    lines = _visible(text, fold=True).translate(_CONFUSABLES)
    flat = re.sub(r"\s+", " ", re.sub(r"\\\n", "", lines))
    bare = re.sub(r"\s+", " ", _QUOTES.sub("", _IFS.sub(" ", flat)))
    return {"lines": lines, "flat": flat, "bare": bare}


# -- rules ------------------------------------------------------------------------------------

_DL = r"(?:curl|wget|aria2c|invoke-webrequest|invoke-restmethod|iwr|irm|certutil|bitsadmin|urlretrieve|urlopen)"
_INTERP = (r"(?:(?:ba|z|k|da|fi|tc|c|a|mk|y)?sh|python[\d.]*|pypy[\d.]*|py|perl|ruby|node(?:js)?|deno|bun"
           r"|php[\d.]*|lua[\d.]*|tclsh|osascript|pwsh|powershell|iex|invoke-expression|source)")
_WRAP = (r"(?:(?:[^\s|;&]*/)?(?:sudo|doas|env|exec|command|nohup|time|stdbuf|nice|ionice|xargs|timeout\s+\S+)"
         r"(?:\s+-{1,2}[\w=-]+(?:\s+(?!-)[\w.@=-]+)?)*\s+|[a-z_]\w*=\S*\s+)*")
_INTO = rf"\|&?\s*{_WRAP}(?:[^\s|;&]*/)?{_INTERP}(?:\.exe)?(?![\w.-])"
_SECRETS = (r"(?:\b(?:env(?:ironment)?\s+var\w*|secrets?|tokens?|credentials?|passwords?|api[\s_-]?keys?"
            r"|private\s+keys?|ssh\s+keys?|cookies?)\b|\.env\b)")
_OPTS = r"(?:\.exe)?(?:\s+-[\w-]+)*?\s+"
_HOSTY = (r"(?:https?://|ftp://|s3://|[\w.+-]+@[\w-]+\.|\d{1,3}(?:\.\d{1,3}){3}|webhook|pastebin|ngrok|requestbin"
          r"|discord(?:app)?\.com|t\.me)")
_NEGATED = re.compile(r"\b(?:never|not|no|don'?t|dont|cannot|can'?t|mustn'?t|shouldn'?t|avoid)\b[^.!?\n]*$", re.I)


def _not_negated(text: str, match: re.Match) -> bool:
    """False when the sentence before ``match`` negates it ("never drop a table without confirmation")."""
    return not _NEGATED.search(text[max(0, match.start() - 80): match.start()])


_VERB_NEGATED = re.compile(r"\b(?:never|not|don'?t|dont|do\s+not|cannot|can'?t|mustn'?t|shouldn'?t)\s+(?:\S+\s+)?$",
                           re.I)


def _verb_not_negated(text: str, match: re.Match) -> bool:
    """False only when the negation stands right before the action verb ("never drop ... without
    confirmation"); a negation elsewhere in the sentence ("No shortcuts: deploy without ...") does
    not excuse it (review finding)."""
    return not _VERB_NEGATED.search(text[max(0, match.start() - 30): match.start()])


def _opaque(text: str, match: re.Match) -> bool:
    """True for a run that looks encoded: letters and digits, few path/word separators."""
    run = match.group(0)
    if not (re.search(r"\d", run) and re.search(r"[a-zA-Z]", run)):
        return False
    return sum(run.count(c) for c in "/-_.") * 10 < len(run)


@dataclass(frozen=True)
class Rule:
    """One risky construct: ``reason`` (the stable text reported), ``patterns`` searched in
    the ``views`` of ``forms``; ``keep`` filters matches (``(view text, match) -> bool``)."""

    reason: str
    patterns: tuple[re.Pattern, ...]
    views: tuple[str, ...] = ("flat", "bare")
    keep: Callable[[str, re.Match], bool] | None = None

    def count(self, views: dict[str, str]) -> int:
        """Matches in the views (the largest count over the views)."""
        best = 0
        for name in self.views:
            text = views[name]
            n = sum(1 for p in self.patterns for m in p.finditer(text) if self.keep is None or self.keep(text, m))
            best = max(best, n)
        return best


def _rx(*patterns: str, flags: int = re.I) -> tuple[re.Pattern, ...]:
    return tuple(re.compile(p, flags) for p in patterns)


RULES: tuple[Rule, ...] = (
    Rule("pipes a download into an interpreter", _rx(
        rf"\b{_DL}\b[^;&]{{0,300}}?{_INTO}",
        rf"(?:<\s*\(|\$\(|`)\s*(?:{_WRAP}){_DL}\b",
    )),
    Rule("pipes into an interpreter", _rx(
        _INTO,
        # review finding: $SHELL, busybox, process substitution into a shell, find -exec sh, sh < file
        r"\|\s*(?:sudo\s+)?(?:\$\{?SHELL\}?|busybox\s+\w+)", r">\s*\(\s*(?:ba|z|k|da)?sh\b",
        r"-exec\s+(?:ba|z|k|da)?sh\b", r"(?<![\w.-])(?:ba|z|k|da)?sh\s+<(?!<)",
        rf"(?<![\w.-]){_INTERP}(?:\.exe)?\s+(?:-\S+\s+)*<\s*\(",
        r"(?:^|[\s;&|(])\.\s+<\s*\(",
    )),
    Rule("downloads from the network (curl/wget)", _rx(rf"(?<![\w-]){_DL}(?![\w-])")),
    Rule("runs inline interpreter code", _rx(
        rf"(?<![\w.-])(?:python[\d.]*|pypy[\d.]*|py|(?:ba|z|k|da|c|tc)?sh){_OPTS}-[a-z]*c(?![\w-])",
        rf"(?<![\w.-])(?:perl|ruby){_OPTS}-[a-z]*e(?![\w-])",
        rf"(?<![\w.-])(?:node(?:js)?|bun){_OPTS}(?:-e|-p|--eval|--print)(?![\w-])",
        rf"(?<![\w.-])php[\d.]*{_OPTS}-r(?![\w-])",
        rf"(?<![\w.-])(?:pwsh|powershell)(?:\.exe)?{_OPTS}-(?:c|e|ec|enc|command|encodedcommand)(?![\w-])",
        r"(?<![\w.-])(?:python[\d.]*|perl|ruby|node|(?:ba|z)?sh)\s+(?:-\s+)?<<",
        r"\bdeno\s+eval\b",
        # review finding: option values before -c/-e ("python3 -W ignore -c"), -pe, lua/osascript
        r"(?<![\w.-])(?:python[\d.]*|pypy[\d.]*|node(?:js)?|perl|ruby|lua[\d.]*|osascript|php[\d.]*)\b[^|;&\n]{0,80}?"
        r"\s-(?:[a-z]*c|[a-z]*e|pe|r|-eval|-print)(?![\w-])",
    )),
    Rule("uses eval/exec", _rx(r"(?<![\w.-])eval(?![\w-])", r"\bexec\s*\(", r"__import__\s*\(",
                               r"\bnew\s+function\s*\(", r"\binvoke-expression\b")),
    Rule("decodes base64", _rx(
        r"\bbase64\b[^|;&]{0,40}?\s(?:-[a-z]*d[a-z]*|--decode)(?![\w-])", r"b64decode", r"base64decode",
        r"decodebase64", r"frombase64string", r"\batob\s*\(", r"base64\.decode", r"\bxxd\s+(?:-\w+\s+)*-r\b",
        r"\buudecode\b", r"buffer\.from\s*\([^)]{0,200}base64",
    )),
    Rule("adds a long opaque string", _rx(
        rf"[A-Za-z0-9+/=_-]{{{OPAQUE_RUN},}}", flags=0), views=("lines",), keep=_opaque),
    Rule("adds a long opaque string", _rx(
        r"(?:\\x[0-9a-f]{2}){8,}", r"(?:\\u[0-9a-f]{4}){6,}", r"(?:\\[0-7]{3}){8,}", r"(?:%[0-9a-f]{2}){10,}",
        r"(?:&#x?[0-9a-f]{1,6};){6,}"), views=("lines",)),
    Rule("adds allowed-tools", _rx(r"\b(?:dis)?allowed[\s_-]*tools\b")),
    Rule("adds a hook definition", _rx(r"^[ \t]*(?:-[ \t]*)?[\"']?hooks[\"']?[ \t]*:", flags=re.I | re.M),
         views=("lines",)),
    Rule("adds a hook definition", _rx(
        r"[\"']hooks[\"']\s*:", r"\b(?:pretooluse|posttooluse|userpromptsubmit|subagentstop|precompact|sessionstart"
        r"|sessionend|permissionrequest)\b", r"core\.hookspath", r"\.git/hooks\b")),
    Rule("changes agent or shell settings", _rx(
        r"\.claude/settings", r"settings\.local\.json", r"\.mcp\.json", r"\bmcpservers\b", r"claude_desktop_config",
        r"\.(?:bashrc|zshrc|bash_profile|zprofile|profile)\b", r"\bcrontab\b", r"authorized_keys", r"\blaunchctl\b",
        r"\bsystemctl\s+(?:--user\s+)?enable\b")),
    Rule("touches credentials or secrets", _rx(
        r"\.ssh/|~/\.ssh\b", r"\bid_(?:rsa|ed25519|ecdsa|dsa)\b", r"\.aws/credentials", r"\.netrc\b",
        r"\.git-credentials", r"\.deeplake\b", r"\.npmrc\b", r"\.pypirc\b", r"\.docker/config\.json",
        r"/etc/shadow", r"\bprintenv\b", r"(?<![\w.-])env\s*(?:\||>)", r"/proc/(?:self|\d+)/environ",
        r"\bkeychain\b", r"\bsecurity\s+find-(?:generic|internet)-password\b")),
    Rule("tells the agent to ignore earlier instructions", _rx(
        r"\b(?:ignore|disregard|forget|override|bypass)\b(?:\s+\S+){0,4}?\s+(?:previous|prior|earlier|above|preceding"
        r"|all|any|other|existing|original|system|developer|safety|your)\b(?:\s+\S+){0,3}?\s+(?:instructions?|rules?"
        r"|guidelines?|directions?|prompts?|guidance|polic(?:y|ies)|constraints?|messages?|guardrails?"
        r"|restrictions?)\b",
        r"\byou\s+are\s+now\b", r"\bnew\s+(?:system\s+)?instructions?\s*:", r"</?\s*(?:system|instructions?)\s*>",
        r"\bjailbreak", r"\bdeveloper\s+mode\b",
        # review finding: the qualifier after the noun ("disregard the rules above")
        r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,40}?\b(?:above|previous|preceding|earlier|prior"
        r"|everything\s+else|all\s+of\s+the\s+above)\b",
        r"\b(?:rules|instructions|steps|guidelines)\s+above\s+no\s+longer\s+apply",
    )),
    Rule("tells the agent to skip confirmation", _rx(
        r"\b(?:without|no\s+need\s+(?:to|for))\s+(?:\S+\s+){0,2}?(?:ask(?:ing)?|confirm\w*|prompting|permission"
        r"|approval|consent|review\w*|checking\s+with)\b"), views=("flat",), keep=_not_negated),
    # review finding: an unrelated negation earlier in the sentence ("No shortcuts: deploy without
    # confirmation") must not excuse an action verb followed by "without asking/confirmation"
    Rule("tells the agent to skip confirmation", _rx(
        r"\b(?:deploy|push|run|execute|delete|drop|remove|publish|release|merge|commit|install|overwrite|force)\w*"
        r"\s+(?:\S+\s+){0,3}?without\s+(?:\S+\s+){0,2}?(?:ask(?:ing)?|confirm\w*|prompting|permission|approval"
        r"|consent|checking\s+with)\b"), views=("flat",), keep=_verb_not_negated),
    Rule("tells the agent to skip confirmation", _rx(
        r"\b(?:don'?t|dont|do\s+not|never|no\s+need\s+to|stop)\s+(?:\S+\s+){0,2}?(?:ask(?:ing)?|wait(?:ing)?\s+for"
        r"|prompt(?:ing)?|check(?:ing)?\s+with|confirm(?:ing)?\s+with)\s+(?:\S+\s+){0,2}?(?:user|human|confirmation"
        r"|permission|approval|consent|operator)s?\b",
        r"\bskip(?:ping)?\s+(?:the\s+|any\s+|all\s+)?(?:confirmation|approval|permission|review|prompt)s?\b",
        r"\bauto(?:matically)?[\s-]?(?:approve|confirm|accept)\w*", r"--yolo\b",
        r"dangerously[\s_-]*skip[\s_-]*permissions", r"bypass[\s_-]*permissions", r"--no-confirm\b",
        r"\b(?:don'?t|dont|do\s+not|never)\s+(?:tell|inform|notify|show|mention\s+(?:this|it)\s+to)\s+the\s+user",
        r"\bwithout\s+(?:telling|informing|notifying)\s+the\s+user",
    ), views=("flat",)),
    Rule("tells the agent to send data elsewhere", _rx(
        rf"\b(?:send|upload|post|transmit|exfiltrat\w*|forward|leak|e-?mail|beacon)\w*\b[^.\n]{{0,80}}?"
        rf"\b(?:to|at|into)\s+{_HOSTY}",
        rf"\b(?:send|upload|post|transmit|exfiltrat\w*|leak|e-?mail)\w*\b[^.\n]{{0,60}}?{_SECRETS}",
        r"\b(?:nc|ncat|netcat|socat|telnet)\s+(?:-\S+\s+)*[\w.-]+\s+\d{2,5}\b", r"/dev/(?:tcp|udp)/",
        # review finding: any raw socket tool, and openssl as a client, can carry data out
        r"(?<![\w.-])(?:nc|ncat|netcat|socat|telnet)(?![\w.-])", r"\bopenssl\s+s_client\b",
        # review finding: copying to another machine (host:path) with no URL to catch
        r"(?<![\w.-])(?:scp|rsync|sftp)(?![\w.-])",
        rf"\b{_DL}\b[^|;&]{{0,200}}?\s(?-i:-d|-F|-T|--data[\w-]*|--form|--upload-file|--post-data|--post-file"
        r"|-X\s*POST|-X\s*PUT)(?![\w-])",
    )),
)

_INVISIBLE = re.compile("[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u00ad\u180e\u200b\u202a-\u202e"
                        "\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb\U000e0000-\U000e007f\u2028\u2029]")
_LOOKALIKE = "\u0370-\u03bb\u03bd-\u03ff\u0400-\u052f"  # Greek (but mu, as in "10 μs") and Cyrillic
_MIXED = re.compile(rf"[a-zA-Z][{_LOOKALIKE}]|[{_LOOKALIKE}][a-zA-Z]")
RAW_RULES: tuple[tuple[str, re.Pattern], ...] = (
    ("adds invisible or control characters", _INVISIBLE),
    ("mixes look-alike scripts in a word", _MIXED),
)


def risky(text: str) -> dict[str, int]:
    """``{reason: matches}`` of every risky construct in ``text`` (reasons with 0 left out)."""
    views = forms(text)
    counts: dict[str, int] = {}
    for rule in RULES:
        n = rule.count(views)
        if n:
            counts[rule.reason] = counts.get(rule.reason, 0) + n
    for reason, pattern in RAW_RULES:
        n = len(pattern.findall(text))
        if n:
            counts[reason] = counts.get(reason, 0) + n
    return counts


# -- hosts ------------------------------------------------------------------------------------

#: TLDs that make a bare dotted name a host. Only ones that rarely end a file name or an
#: attribute access (``logger.info``, ``x.to(...)``, ``archive.zip`` are not hosts).
_TLDS = frozenset((
    "com net org io dev ai xyz ru cn tk top gov edu mil uk de fr jp eu nl br au ca ch se no su ir kp "
    "example invalid onion online cloud biz tech website icu cyou buzz ngrok"
).split())
_URL = re.compile(r"\b[a-z][a-z0-9+.-]{1,15}://([^\s/?#\"'<>()\[\]{}`|\\]+)", re.I)
_SLASHES = re.compile(r"(?<![:\w/])//((?:[\w-]+\.)+[\w-]{2,})", re.I)
_AT = re.compile(r"(?<![\w.+-])[\w.+-]+@((?:[\w-]+\.)+[\w-]{2,})", re.I)
_IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?!\.?\w)")
_BARE = re.compile(r"(?<![\w./@:-])((?:[\w-]+\.)+([\w-]{2,}))(?![\w-]|\.\w)", re.I)


def _clean_host(authority: str) -> str:
    host = authority.rsplit("@", 1)[-1]
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.split(":", 1)[0].strip(".").lower()


def hosts(text: str) -> set[str]:
    """Host names and addresses named in ``text``: of URLs with a scheme, ``//host``,
    ``user@host``, IPv4 addresses, and bare dotted names ending in a common TLD
    (``_TLDS``; look-alike letters folded for that test only, the host is kept as written)."""
    view = _visible(text, fold=False).casefold()
    found = {_clean_host(m.group(1)) for m in _URL.finditer(view)}
    found |= {m.group(1).lower() for m in _SLASHES.finditer(view)}
    found |= {m.group(1).lower() for m in _AT.finditer(view)}
    found |= {m.group(0) for m in _IPV4.finditer(view)}
    for m in _BARE.finditer(view):
        if m.group(2).translate(_CONFUSABLES).lower() in _TLDS:
            found.add(m.group(1).lower())
    return {h for h in found if h and any(c.isalnum() for c in h)}


def _named_in(host: str, text: str) -> bool:
    return re.search(rf"(?<![\w.-]){re.escape(host)}(?![\w-])", text) is not None


def new_hosts(old: str, texts: Iterable[str]) -> list[str]:
    """Hosts named in ``texts`` that ``old`` does not name (sorted)."""
    before = hosts(old)
    old_view = _visible(old, fold=False).casefold()
    found: set[str] = set()
    for text in texts:
        found |= hosts(text)
    return sorted(h for h in found if h not in before and not _named_in(h, old_view))


def changed_region(old: str, new: str) -> tuple[str, str]:
    """The parts of ``old`` and ``new`` that differ, each with up to ``CONTEXT`` characters of
    the unchanged text around them (the same text on both sides): where a construct can have
    been added, so the scan of a small change to a large body stays small."""
    prefix, suffix = common_ends(old, new)
    start = max(0, prefix - CONTEXT)
    keep = min(suffix, CONTEXT)
    return old[start:len(old) - suffix + keep], new[start:len(new) - suffix + keep]


# -- the check --------------------------------------------------------------------------------

def _show(host: str) -> str:
    return "".join(c if c.isprintable() and not c.isspace() else "?" for c in host)[:80]


def check(old_body: str, new_body: str, edits: Sequence[Edit]) -> list[str]:
    """Why the change from ``old_body`` to ``new_body`` made by ``edits`` may not be published
    unreviewed: short stable reasons in a fixed order; empty when the change is plain.

    Reasons: ``FRONT_MATTER_CHANGED``; ``EDIT_TEXT_TOO_LONG``; ``"change over L chars: N"``;
    ``"removes over a quarter of the body: R of B chars"``; ``"adds URL/host not in the skill:
    h1, h2"``; and each ``Rule.reason`` / ``RAW_RULES`` reason. A construct is added when an
    edit's text holds it or the changed region of the new body holds more of it than the old.
    Never raises for text input.
    """
    reasons: list[str] = []
    if front_matter(old_body) != front_matter(new_body):
        reasons.append(FRONT_MATTER_CHANGED)
    if any(len(e.text) > MAX_EDIT_TEXT for e in edits):
        reasons.append(EDIT_TEXT_TOO_LONG)
    added, removed = change_size(old_body, new_body)
    limit = change_limit(old_body)
    if added + removed > limit:
        reasons.append(f"change over {limit} chars: {added + removed}")
    deleted = max([removed] + [len(e.target) for e in edits if e.op == "delete"])
    if deleted * BODY_SHARE > len(old_body):
        reasons.append(f"removes over a quarter of the body: {deleted} of {len(old_body)} chars")
    old_part, new_part = changed_region(old_body, new_body)
    texts = [new_part] + [e.text for e in edits if e.text]
    largest = max(len(t) for t in texts + [old_part])
    if largest > SCAN_LIMIT:  # held anyway; a bounded run time matters more than the list of reasons
        reasons.append(f"change too large to scan: {largest} chars")
        return reasons
    added_hosts = new_hosts(old_body, texts)
    if added_hosts:
        shown = ", ".join(_show(h) for h in added_hosts[:5])
        more = f" (+{len(added_hosts) - 5} more)" if len(added_hosts) > 5 else ""
        reasons.append(f"{NEW_HOST}: {shown}{more}")
    before, after = risky(old_part), risky(new_part)
    in_edits: set[str] = set()
    for edit in edits:
        in_edits.update(risky(edit.text))
    for reason in _ordered(after, in_edits):
        if after.get(reason, 0) > before.get(reason, 0) or reason in in_edits:
            reasons.append(reason)
    return reasons


def _ordered(*groups: Iterable[str]) -> list[str]:
    """The reasons present in ``groups``, in the order of ``RULES`` then ``RAW_RULES``."""
    present = set().union(*groups)
    order = [r.reason for r in RULES] + [r for r, _ in RAW_RULES]
    seen: list[str] = []
    for reason in order:
        if reason in present and reason not in seen:
            seen.append(reason)
    return seen
