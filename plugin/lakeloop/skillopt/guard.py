"""Guarded releases: may an optimizer change be published without a person's review?

A team skill is text every teammate's agent follows, and the optimizer's edits come from a
model that read an untrusted transcript. So the guard decides by what a change MAY contain
(an allowlist), not by a list of things it may not: a change is published unreviewed only
when ``check`` returns no reason; otherwise the worker holds it as a proposal (``lakeloop
skills proposals``) and a person decides (``lakeloop skills accept`` publishes it anyway).
The rules and their residual risks are described in docs/skill-guard.md.

Structural rules (on the whole change):

* the front matter (the ``---`` block at the top of SKILL.md) is never changed;
* each edit's text is at most ``MAX_EDIT_TEXT`` (800) characters;
* the whole change, measured on a diff (difflib) of the old and new body as characters
  added plus characters removed, is at most ``max(MAX_CHANGE, len(old) // 4)``;
* at most a quarter of the body is removed.

Content rules, on what the change adds: every line of the new body that is not, verbatim, a
line of the old body, and every line of each edit's text that is not. Such a line is read
whole (a replace inside a line is judged by the line it makes; a line moved verbatim adds
nothing). Each added line must be plain prose within the skill's vocabulary:

* characters (``Vocabulary.allows_char``): printable ASCII and tab, a few typographic marks
  (``TYPOGRAPHIC``), letters, marks and digits of the scripts the old body already uses (a
  non-ASCII Latin letter only when it is an accented ASCII letter or a common European one),
  and any other character the old body holds; never a control, format, private-use,
  unassigned or default-ignorable character (zero-width, bidi, variation selectors, tags,
  Hangul fillers), U+2800, or a line/paragraph separator, even when the old body holds one;
* code and markup: a code span only when the line rewrites, keeps or renumbers a line of the old
  body that holds the identical span (backticks included; the skill's span in a new sentence is
  ``REUSES_CODE``); no fence line and no line inside a fenced block; no HTML comment or tag, no
  Markdown reference definition (``[x]: # (...)``), no look-alike of the protected-region
  markers, no role label at the start of a line (``system:``, ``# SYSTEM``); no command line
  (``shell_like``: a line starting with a command or a word of the skill's code, or holding a
  shell operator); and a line of the old body that holds code may move but not multiply;
* tokens (whitespace-separated, surrounding quotes, brackets, emphasis and punctuation set
  aside): a plain word (letters of one script, inner apostrophes or hyphens), a number, a
  list or heading marker, a short abbreviation (``e.g.``) or two plain words joined by ``/``
  (``and/or``; not a path root such as ``var`` or ``root``); any other token only when that
  exact token is in the old body;
* words (the allowlist, ``word_reasons``): every word (``words_of``: letters, case-folded,
  split at hyphens, slashes and apostrophes) is a word of the old body or of the base
  vocabulary (``base_vocabulary``: the 10,000 most frequent English words minus every
  ``sensitive`` word), or an inflection of one (``_stems``); no upper-case word of two letters
  or more the old body does not have, but ``ACRONYMS``; no run of six digits or more the old
  body does not have;
* commands (``COMMANDS``): no word naming a shell, interpreter, package manager or runner,
  network, encoding or low-level file tool, or speaking of running programs, that the old body
  does not already name;
* topics (``TOPICS``, English and Russian words and phrases read on the folded view ``fold``):
  credentials, personal data or environment variables, sending or sharing data, network
  addresses or ports, places outside the project, hiding things from or misleading the user,
  ignoring instructions or skipping confirmation and checks, taking instructions from
  elsewhere, addressing the optimizer, other skills, settings or hooks, installing or
  downloading, and destructive verbs. A topic is held even when the old body mentions it and
  even when it is negated ("never drop ..."), unless the whole sentence holding it is,
  verbatim, a sentence of the old body (a renumbered or reordered step).

Rule on what the change removes: the new body may not hold fewer negations, conditions or
safety words (``SAFETY_WORDS``: never, not, only, if, before, always, ask, confirm, wait,
backup, staging, review, check, test, in English, German and Russian) than the old one.

Rules on what the change does to existing lines (``line_changes``: a line diff on the lines
without list markers, an old line and the most similar new line in a changed block paired as a
rewrite; after the front matter):

* a rewritten line keeps every word of the old line in order, more words allowed between them, a
  word replaced only by a typo fix (``typo_fix``) and a sentence dropped only when redundant
  (``reworded``, ``REWORDS``);
* a removed line is redundant: each sentence is a sentence of the new body or its words outside
  ``STOP_WORDS`` are words of one other sentence both bodies hold (``_Redundancy``, ``REMOVES_LINE``);
* the new body's code lines, read as the old lines they keep or rewrite, are the old body's code
  lines in order, lines only removed (``MOVES_CODE``).

``check`` never raises for text input and its run time is bounded: only added lines are
scanned, and a change whose added text exceeds ``SCAN_LIMIT`` is held unscanned.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .parse import Edit

#: Longest text of one edit, characters.
MAX_EDIT_TEXT = 800
#: Largest whole change, characters added + removed, unless a quarter of the body is larger.
MAX_CHANGE = 1500
#: A change may touch up to 1/BODY_SHARE of the body, and remove at most that much (a quarter).
BODY_SHARE = 4
#: Above this many characters (old + new), the diff is not computed: the change counts
#: as everything removed and added (conservative, and bounded in time).
DIFF_LIMIT = 1_000_000
#: Added text (characters) above which the content is not scanned: the change is held as
#: too large to scan (the scan costs up to about 20 microseconds a character: 2 s at the limit).
SCAN_LIMIT = 100_000
#: ``replace`` blocks of the line diff up to this many characters are diffed per character.
CHAR_DIFF_LIMIT = 4000

FRONT_MATTER_CHANGED = "front matter changed"
EDIT_TEXT_TOO_LONG = f"edit text over {MAX_EDIT_TEXT} chars"
UNSAFE_CHARACTER = "adds a character outside the safe set"
CODE_BLOCK = "adds a code block"
CODE_SPAN = "adds a code span"
COPIES_CODE = "copies a line of code the skill already has"
MARKUP = "adds markup (an HTML comment or tag, a reference definition, or a protected-region marker)"
ROLE = "adds a role label (system:, assistant:, user:, ...)"
ADDRESS = "adds a path, URL, host or e-mail address"
SHELL = "adds shell syntax or a command line"
MIXED_SCRIPTS = "mixes letters of different scripts in a word"
NOT_PROSE = "adds a word that is not plain prose"
UNKNOWN_WORDS = "adds words not in the skill or the base vocabulary"
CAPITALS = "adds an upper-case name not in the skill"
LONG_NUMBER = "adds a long number not in the skill"
COMMAND = "adds a command not in the skill"
CREDENTIALS = "mentions credentials, personal data or environment variables"
SENDS = "tells the agent to send or share data"
NETWORK = "tells the agent to open or reach a network address or port"
OUTSIDE = "refers to a place outside the project"
HIDES = "tells the agent to hide something from the user"
OVERRIDES = "tells the agent to ignore instructions or skip confirmation or checks"
FOLLOWS = "tells the agent to take instructions from elsewhere"
LOOP = "addresses the optimizer or its judge, other skills, settings or hooks"
INSTALLS = "tells the agent to install or download something"
DESTRUCTIVE = "adds a destructive verb"
REMOVES_SAFETY = "removes a negation or a safety step"
REWORDS = "changes the wording of an existing line"
REMOVES_LINE = "removes a line that is not repeated elsewhere"
MOVES_CODE = "moves or copies a line of code"
REUSES_CODE = "reuses a code span in a new sentence"

#: The content reasons, in the order ``check`` reports them (after the structural ones).
CONTENT_REASONS = (
    UNSAFE_CHARACTER,
    CODE_BLOCK,
    CODE_SPAN,
    REUSES_CODE,
    COPIES_CODE,
    MOVES_CODE,
    MARKUP,
    ROLE,
    ADDRESS,
    SHELL,
    MIXED_SCRIPTS,
    NOT_PROSE,
    UNKNOWN_WORDS,
    CAPITALS,
    LONG_NUMBER,
    COMMAND,
    CREDENTIALS,
    SENDS,
    NETWORK,
    OUTSIDE,
    HIDES,
    OVERRIDES,
    FOLLOWS,
    LOOP,
    INSTALLS,
    DESTRUCTIVE,
    REMOVES_SAFETY,
    REWORDS,
    REMOVES_LINE,
)

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
    old, new = old[prefix : len(old) - suffix], new[prefix : len(new) - suffix]
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


# -- characters -------------------------------------------------------------------------------

#: Typographic marks allowed in any skill (quotes, dashes, ellipsis, bullets, a few signs).
TYPOGRAPHIC = frozenset("’‘“”–—…•·«»°±×µ§€£→←")
#: Unicode's Default_Ignorable_Code_Point ranges (they render as nothing), plus U+2800.
_IGNORABLE = (
    (0x00AD, 0x00AD),
    (0x034F, 0x034F),
    (0x061C, 0x061C),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x206F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)
_NEVER_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
#: Non-ASCII Latin letters without a canonical decomposition that European languages use.
_LATIN_EXTRA = frozenset("ßæÆœŒøØłŁđĐðÐþÞħĦ")
#: Scripts written together in one word (Japanese, Chinese and Korean text).
_CJK = frozenset({"CJK", "HIRAGANA", "KATAKANA", "KATAKANA-HIRAGANA", "HANGUL", "BOPOMOFO", "IDEOGRAPHIC"})


@functools.lru_cache(maxsize=8192)
def never_allowed(ch: str) -> bool:
    """True for a character no added text may hold, whatever the skill holds: controls but
    tab, format (bidi, zero-width, tags), surrogates, private use, unassigned, line and
    paragraph separators, and default-ignorable characters (variation selectors, fillers)."""
    if ch == "\t":
        return False
    code = ord(ch)
    if unicodedata.category(ch) in _NEVER_CATEGORIES:
        return True
    return any(lo <= code <= hi for lo, hi in _IGNORABLE) or "FILLER" in unicodedata.name(ch, "")


@functools.lru_cache(maxsize=8192)
def script(ch: str) -> str:
    """The script of a letter, mark or digit as the first word of its Unicode name ("LATIN",
    "CYRILLIC", "FULLWIDTH", "MATHEMATICAL", ...); Chinese, Japanese and Korean scripts are
    one group ("CJK"); ``""`` for an unnamed character."""
    if ch.isascii() or ch in TYPOGRAPHIC:  # the micro sign reads as Latin ("µs")
        return "LATIN"
    first = unicodedata.name(ch, "").split(" ", 1)[0]
    return "CJK" if first in _CJK else first


@functools.lru_cache(maxsize=8192)
def _plain_latin(ch: str) -> bool:
    """An ASCII letter, an accented ASCII letter (canonical decomposition to an ASCII base)
    or one of ``_LATIN_EXTRA``: not a Latin look-alike such as U+0261 or a ligature."""
    if ch.isascii() or ch in _LATIN_EXTRA:
        return True
    decomposition = unicodedata.decomposition(ch)
    return (
        bool(decomposition) and not decomposition.startswith("<") and chr(int(decomposition.split()[0], 16)).isascii()
    )


def _lettery(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LM" or unicodedata.category(ch) == "Nd"


@dataclass(frozen=True)
class Vocabulary:
    """What the old body already holds, against which added lines are judged: its ``lines`` and
    ``sentences`` (``sentences_of``), whitespace ``tokens`` (raw and with surrounding punctuation
    cut), folded ``words`` (for commands), ``prose_words`` (``words_of``: letters only, for the
    word allowlist), upper-case words as written (``capitals``), ``code_words`` (words of its code
    spans and fenced blocks outside the base vocabulary: alembic, kubectl), ``code_lines`` (how
    many times each line that holds code occurs, ``code_lines``), non-ASCII ``chars``, the
    ``scripts`` of its letters (``script``), and its ``text``."""

    lines: frozenset[str]
    sentences: frozenset[str]
    tokens: frozenset[str]
    words: frozenset[str]
    prose_words: frozenset[str]
    capitals: frozenset[str]
    code_words: frozenset[str]
    code_lines: dict[str, int]
    chars: frozenset[str]
    scripts: frozenset[str]
    text: str

    @classmethod
    def of(cls, body: str) -> Vocabulary:
        """The vocabulary of ``body`` (linear in its length)."""
        raw = set(_SPLIT.split(body))
        tokens = raw | {_core(t) for t in raw}
        words: set[str] = set()
        for word in _WORD.findall(fold(body)):
            words.add(word)
            words.update(_command_forms(word))
        chars = frozenset(c for c in set(body) if not c.isascii())
        scripts = {"LATIN"} | {script(c) for c in chars if _lettery(c) and not never_allowed(c)}
        lines = _lines(body)
        sentences = frozenset(s for line in lines for s in sentences_of(line))
        capitals = frozenset(w for w in _LETTER_RUN.findall(body) if w.isupper())
        code = "\n".join(
            [span for line in lines for span in code_spans(line)] + [line for line, fenced in _fenced(lines) if fenced]
        )
        code_words = frozenset(w for w in words_of(code) if w not in base_vocabulary())
        return cls(
            frozenset(lines),
            sentences,
            frozenset(tokens),
            frozenset(words),
            frozenset(words_of(body)),
            capitals,
            code_words,
            code_lines(lines, code_words),
            chars,
            frozenset(scripts),
            body,
        )

    def allows_char(self, ch: str) -> bool:
        """Whether an added line may hold ``ch`` (see the module docstring)."""
        if " " <= ch <= "~" or ch == "\t":
            return True
        if never_allowed(ch):
            return False
        if ch in TYPOGRAPHIC or ch in self.chars:
            return True
        if _lettery(ch) and script(ch) in self.scripts:
            return script(ch) != "LATIN" or _plain_latin(ch)
        return False


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+")
_LIST_MARKER = re.compile(r"\s*(?:(?:[-*+>#•]+|\d{1,3}[.)])\s+)*")


def _unmarked(line: str) -> str:
    """``line`` after its leading list or heading markers (``_LIST_MARKER`` matches at the
    start of every line, if only the empty string)."""
    marker = _LIST_MARKER.match(line)
    return line[marker.end() :] if marker else line


def sentences_of(line: str) -> list[str]:
    """The sentences of one line (split after ``.``, ``!`` or ``?``), list and heading
    markers cut from the first, surrounding spaces cut."""
    line = _unmarked(line)
    return [s.strip() for s in _SENTENCE_SPLIT.split(line) if s.strip()]


def _lines(text: str) -> list[str]:
    """``text`` split at ``\\n`` only (a CR before it dropped): every other line-break
    character stays inside its line, where the character rule sees it."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


# -- the folded view --------------------------------------------------------------------------

#: Greek and Cyrillic letters that look like Latin ones, folded for the word and topic rules.
_CONFUSABLES = str.maketrans(
    {
        "а": "a",
        "в": "b",
        "е": "e",
        "ё": "e",
        "к": "k",
        "м": "m",
        "н": "h",
        "о": "o",
        "р": "p",
        "с": "c",
        "т": "t",
        "у": "y",
        "х": "x",
        "ѕ": "s",
        "і": "i",
        "ї": "i",
        "ј": "j",
        "һ": "h",
        "ԁ": "d",
        "ԛ": "q",
        "ԝ": "w",
        "ӏ": "l",
        "ɡ": "g",
        "ο": "o",
        "α": "a",
        "ν": "v",
        "ρ": "p",
        "ι": "i",
        "κ": "k",
        "υ": "u",
        "χ": "x",
        "ϲ": "c",
        "ε": "e",
        "τ": "t",
        "ı": "i",
        "ɑ": "a",
        "ꭰ": "d",
        "ꮃ": "w",
    }
)


_TYPOGRAPHIC_ASCII = str.maketrans({"’": "'", "‘": "'", "–": "-", "—": " - ", "…": "..."})


def fold(text: str, lookalikes: bool = True) -> str:
    """The view the command and topic rules read: compatibility forms decomposed (NFKD:
    full-width and mathematical letters, ligatures), marks and never-allowed characters
    (zero-width, fillers, variation selectors) removed, case-folded, typographic quotes and
    dashes mapped to ASCII and, when ``lookalikes``, Greek/Cyrillic letters that look Latin
    mapped to Latin ones."""
    text = unicodedata.normalize("NFKD", text)
    if not text.isascii():
        text = "".join(c for c in text if c.isascii() or not (unicodedata.category(c)[0] == "M" or never_allowed(c)))
    text = text.casefold().translate(_TYPOGRAPHIC_ASCII)
    return text.translate(_CONFUSABLES) if lookalikes else text


# -- tokens -----------------------------------------------------------------------------------

_LEAD = "\"'“‘«([`"
_TRAIL = "\"'”’»)]`.,;:!?"
_SPLIT = re.compile(r"[\s—–…]+")
_MARKER = re.compile(r"#{1,6}|[-*+•>]|\d{1,3}[.)]|[a-zA-Z][.)]|\(\d{1,3}\)")
_NUMBER = re.compile(r"#?[0-9]+(?:[.,:/–-][0-9]+){0,2}(?:%|st|nd|rd|th|s|ms|min|h|x|k|kb|mb|gb|tb|px)?", re.I)
_ABBREVIATION = re.compile(r"[A-Za-z](?:\.[A-Za-z]){1,2}")
_WORDS_PATH = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*(?:/[A-Za-z]+(?:-[A-Za-z]+)*){1,2}")
#: Tokens of punctuation alone that prose uses (dashes, an ellipsis, bullets, a lone slash,
#: brackets and quotes); ``..``, ``../`` or ``|`` are not among them.
_PUNCTUATION_TOKEN = re.compile(r"[-–—]+|\.\.\.|->|[…•*·+/,:.()\[\]\"'“”‘’]|\[ \]|\(\)")
_MARKUP = re.compile(r"<!--|-->|<\s*/?\s*[a-z!?]", re.I)
_REGION_MARKER = re.compile(r"slow[\s_-]*update")
_SHELL_CHARS = frozenset('$`|&;<>{}=*?!^%()[]"')
_TICKS = re.compile(r"`+")
_FENCE = re.compile(r"^ {0,3}(?:[-*+>] +|\d{1,3}[.)] +)?(?:```|~~~)")
#: Longest plain word (letters), and the fewest lower-to-upper case changes that make a word
#: of at least 8 letters look encoded rather than CamelCase.
_LONGEST_WORD = 40
_CASE_CHANGES = 3


def code_spans(line: str) -> list[str]:
    """The code spans of ``line``, backticks included: a run of backticks opens one and the
    next run of the same length closes it (linear in the length of the line)."""
    runs = [(m.start(), m.end()) for m in _TICKS.finditer(line)]
    following: list[int] = [-1] * len(runs)
    last: dict[int, int] = {}
    for i in range(len(runs) - 1, -1, -1):
        size = runs[i][1] - runs[i][0]
        following[i] = last.get(size, -1)
        last[size] = i
    spans, i = [], 0
    while i < len(runs):
        j = following[i]
        if j < 0:
            i += 1
            continue
        spans.append(line[runs[i][0] : runs[j][1]])
        i = j + 1
    return spans


def _core(token: str) -> str:
    """``token`` without surrounding quotes, brackets and punctuation, and without emphasis
    marks that stand on both ends (``**word**``, ``_word_``; ``AWS_`` keeps its underscore)."""
    while True:
        core = token.lstrip(_LEAD).rstrip(_TRAIL)
        if len(core) >= 2 and core[0] == core[-1] and core[0] in "*_":
            core = core[1:-1]
        if core == token:
            return core
        token = core


def _plain_word(core: str) -> str | None:
    """None when ``core`` is a plain word (letters of one script, inner apostrophes or hyphens,
    an optional ``(s)``), else the reason it is not."""
    if core.endswith("(s)"):
        core = core[:-3]
    parts = re.split(r"['’-]", core)
    if not all(parts) or not all(
        unicodedata.category(p[0])[0] == "L" and all(unicodedata.category(c)[0] in "LM" for c in p) for p in parts
    ):
        return NOT_PROSE
    if len({script(c) for c in core if unicodedata.category(c)[0] == "L"}) > 1:
        return MIXED_SCRIPTS
    if len(parts) >= 3 and sum(len(p) == 1 for p in parts) >= 3:
        return NOT_PROSE  # spelled out: p-a-s-s
    if any(len(p) > _LONGEST_WORD for p in parts):
        return NOT_PROSE
    changes = sum(1 for a, b in zip(core, core[1:]) if a.islower() and b.isupper())
    if len(core) >= 8 and changes >= _CASE_CHANGES:
        return NOT_PROSE  # aGVsbG8gd29ybGQ
    return None


def _token_kinds(token: str) -> list[str]:
    """Why a token that is neither plain nor in the skill is held (one or more reasons)."""
    kinds = []
    if (
        "://" in token
        or "@" in token
        or "~" in token
        or "\\" in token
        or "/" in token
        or token.startswith(".")
        or re.search(r"\w\.\w", token)
    ):
        kinds.append(ADDRESS)
    if any(c in _SHELL_CHARS for c in token) or (token.startswith("-") and token.strip("-")):
        kinds.append(SHELL)
    if not kinds:
        kinds.append(_plain_word(token) or NOT_PROSE)
    return kinds


def _host(token: str) -> str:
    """The host or e-mail domain a held token names (user and password cut), or ``""``;
    printable ASCII only, at most 60 characters (it is shown in the reasons and the log)."""
    text = token.split("://", 1)[1] if "://" in token else token
    text = re.split(r"[/?#]", text, maxsplit=1)[0].rsplit("@", 1)[-1].split(":", 1)[0].strip(".")
    named = re.fullmatch(r"[\w-]+(?:\.[\w-]+)+", text, re.A) and re.search(r"[A-Za-z]", text.rsplit(".", 1)[-1])
    if not named and not re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", text):
        return ""
    return text.lower()[:60]


# -- words: the allowlist ---------------------------------------------------------------------

#: The base vocabulary, next to the package: the 10,000 most frequent English words (wordfreq,
#: CC BY-SA 4.0; generated by bench/guard_words.py), lower case, one a line, ``#`` header lines.
BASE_WORDS = "data/guard-words-en.txt"
#: Words never taken from the base vocabulary, only from the skill's own words (besides the
#: commands and the single words of the topics): top-level domains, the roots of a Unix file
#: system, and English words that name environment variables or a shell.
UNLISTED = frozenset(
    """
com net org io gov edu biz xyz
etc usr var tmp home root proc dev opt bin sbin srv mnt sys
path shell
""".split()
)
#: Word paths (``and/or``) may not start with or hold one of these (``var/lib``, ``root/backups``).
PATH_ROOTS = frozenset("etc usr var tmp home root proc dev opt bin sbin srv mnt sys lib boot".split())
#: Upper-case words an added line may hold although the skill does not: common acronyms.
ACRONYMS = frozenset("API URL PR CI SQL JSON YAML HTTP ID OK UI CLI DB QA".split())
#: Abbreviations written with a final dot, read as punctuation rather than words.
ABBREVIATIONS = frozenset({"e.g.", "i.e.", "etc.", "vs.", "cf.", "a.m.", "p.m.", "n.b."})
#: Units after a number (``500 µs``), read as part of the number.
UNITS = frozenset({"µs", "ms", "ns", "s", "kb", "mb", "gb", "tb", "px", "min", "sec", "%"})
#: What may follow an apostrophe inside a word (``user's``, ``don't``, ``we'll``).
_CLITICS = frozenset({"s", "t", "ll", "re", "ve", "d", "m"})
#: Digit runs at least this long are held unless the old body holds them (an IP address or a
#: port written as one number, an id).
LONG_DIGITS = 6
_WORD_RUN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)*")
_LETTER_RUN = re.compile(r"[^\W\d_]+")
_DIGIT_RUN = re.compile(rf"\d{{{LONG_DIGITS},}}")


def _read_base() -> list[str]:
    """The words of ``BASE_WORDS``; an empty list when the file cannot be read (then only the
    skill's own words are allowed: conservative)."""
    try:
        from importlib import resources

        text = resources.files("lakeloop").joinpath(BASE_WORDS).read_text(encoding="utf-8")
    except (OSError, ValueError, ModuleNotFoundError):
        return []
    return [w for w in (line.strip() for line in text.splitlines()) if w and not w.startswith("#")]


@functools.lru_cache(maxsize=1)
def base_vocabulary() -> frozenset[str]:
    """The words an added line may use besides the skill's own: ``BASE_WORDS`` (folded) minus
    every ``sensitive`` word. Read once, on first use (about 10,000 words)."""
    return frozenset(w for w in (fold(w, lookalikes=False) for w in _read_base()) if not sensitive(w))


@functools.lru_cache(maxsize=1)
def _topic_words() -> re.Pattern:
    """The single-word alternatives of every topic's English list (those without a space), as
    one pattern to ``fullmatch`` a word against."""
    words = [alt for topic in TOPICS for alt in topic.english if r"\s" not in alt and " " not in alt]
    return re.compile("|".join(f"(?:{w})" for w in words))


@functools.lru_cache(maxsize=16384)
def sensitive(word: str) -> bool:
    """True for a folded word the base vocabulary never supplies: a command (``COMMANDS``), an
    ``UNLISTED`` word, or a word one of the topics holds on its own (``drop``, ``token``)."""
    return word in COMMANDS or word in UNLISTED or _topic_words().fullmatch(word) is not None


def words_of(text: str) -> list[str]:
    """The words of ``text`` the allowlist judges: runs of letters of its folded view (``fold``
    without look-alike mapping), split at hyphens, slashes and other punctuation; a word with an
    apostrophe is kept whole when the base vocabulary has it (``don't``), else split there, and
    a part after the apostrophe that is a clitic (``'s``, ``'ll``) is dropped."""
    words: list[str] = []
    for word in _WORD_RUN.findall(fold(text, lookalikes=False)):
        if "'" not in word or word in base_vocabulary():
            words.append(word)
            continue
        head, *tail = word.split("'")
        words.append(head)
        words.extend(part for part in tail if part not in _CLITICS)
    return words


#: Endings an inflected or derived word may drop, with what replaces them (``tries`` -> ``try``).
_SUFFIXES = (
    ("ies", "y"),
    ("ied", "y"),
    ("es", ""),
    ("s", ""),
    ("ed", ""),
    ("ed", "e"),
    ("ing", ""),
    ("ing", "e"),
    ("ly", ""),
    ("er", ""),
    ("er", "e"),
    ("or", ""),
    ("or", "e"),
)


def _stems(word: str) -> list[str]:
    """Forms ``word`` may be an inflection or derivation of: up to two endings of ``_SUFFIXES``
    (``contributors``), a doubled last consonant undone (``stopped``); each at least 3 letters.
    No prefix is dropped: ``un`` and ``re`` change the meaning (``undropped``, ``rewrite``)."""
    forms = [word[: -len(end)] + repl for end, repl in _SUFFIXES if word.endswith(end)]
    forms += [f[: -len(end)] + repl for f in list(forms) for end, repl in _SUFFIXES if f.endswith(end)]
    forms += [f[:-1] for f in forms if len(f) >= 4 and f[-1] == f[-2]]  # stopped -> stop
    return [f for f in forms if len(f) >= 3]


def known_word(word: str, skill_words: frozenset[str]) -> bool:
    """Whether an added line may use the folded ``word``: the skill has it, or the base vocabulary
    has it or a stem of it (``_stems``) and it is not ``sensitive``."""
    if word in skill_words:
        return True
    if sensitive(word):
        return False
    base = base_vocabulary()
    return word in base or any(f in base or f in skill_words for f in _stems(word))


def _word_tokens(text: str) -> str:
    """``text`` without the tokens the word rules skip: a list or heading marker at the start,
    numbers with their units, ``ABBREVIATIONS`` and punctuation."""
    kept = []
    for i, token in enumerate(t for t in _SPLIT.split(text) if t):
        core = _core(token)
        if (
            (i == 0 and _MARKER.fullmatch(token))
            or _NUMBER.fullmatch(core)
            or core.lower() in UNITS
            or token.lower().rstrip(",;:!?)\"'") in ABBREVIATIONS
            or _PUNCTUATION_TOKEN.fullmatch(token)
        ):
            continue
        kept.append(token[:-3] if token.endswith("(s)") else token)
    return " ".join(kept)


def word_reasons(text: str, old: Vocabulary, found: dict[str, list[str]]) -> None:
    """Add to ``found`` the word rules' reasons for ``text`` (one added line, code spans the skill
    already has taken out): words neither the skill nor the base vocabulary has
    (``UNKNOWN_WORDS``), upper-case words of two letters or more the skill does not have, but
    ``ACRONYMS`` (``CAPITALS``), and runs of ``LONG_DIGITS`` digits the skill does not have
    (``LONG_NUMBER``)."""
    prose = _word_tokens(text)
    unknown = [w for w in words_of(prose) if not known_word(w, old.prose_words)]
    if unknown:
        found.setdefault(UNKNOWN_WORDS, []).extend(w[:24] for w in unknown)
    capitals = [
        w
        for w in _LETTER_RUN.findall(prose)
        if len(w) >= 2 and w.isupper() and w not in old.capitals and w not in ACRONYMS
    ]
    if capitals:
        found.setdefault(CAPITALS, []).extend(w[:24] for w in capitals)
    if any(run not in old.text for run in _DIGIT_RUN.findall(text)):
        found.setdefault(LONG_NUMBER, [])


# -- code lines -------------------------------------------------------------------------------

_SHELL_OPERATOR = re.compile(r"&&|\|\||\$\(|\$\{|\s[|;>]\s|\s>>?\s?\S")


def _fenced(lines: Sequence[str]) -> list[tuple[str, bool]]:
    """Each line with whether it is a fence line or lies inside a fenced block."""
    out, inside = [], False
    for line in lines:
        fence = _FENCE.match(line) is not None
        out.append((line, fence or inside))
        if fence:
            inside = not inside
    return out


def shell_like(line: str, code_words: frozenset[str]) -> bool:
    """True when ``line`` reads as a command line rather than prose: after any list marker its
    first word starts in lower case and is a command (``COMMANDS``) or a word of the skill's code
    outside the base vocabulary (``alembic downgrade base``), or it holds a shell operator
    (``&&``, ``||``, ``$(``, `` | ``, `` > ``)."""
    text = _unmarked(line).lstrip()
    first = _SPLIT.split(text, maxsplit=1)[0] if text else ""
    if first[:1].islower():
        word = fold(first.split("/")[0])
        if word in COMMANDS or word in code_words:
            return True
    return _SHELL_OPERATOR.search(line) is not None


def code_lines(lines: Sequence[str], code_words: frozenset[str]) -> dict[str, int]:
    """``{line: count}`` of the non-blank lines that hold code: a backtick, a fence line, a line
    inside a fenced block, a line indented as code (four spaces or a tab) or a ``shell_like`` line."""
    counts: dict[str, int] = {}
    for line, fenced in _fenced(lines):
        if line.strip() and (fenced or "`" in line or line.startswith(("    ", "\t")) or shell_like(line, code_words)):
            counts[line] = counts.get(line, 0) + 1
    return counts


# -- commands ---------------------------------------------------------------------------------

#: Words naming a program that runs code, installs or fetches packages, moves data across the
#: network, encodes or decodes it, or changes files at a low level, and words that speak of
#: running programs (pipe, invoke, decode, program, utility). An added line may name one only
#: when the old body already does. Programs named by ordinary English words are left out
#: (make, find, head, cat, source, ...); "go" counts only before a Go subcommand.
COMMANDS = frozenset(
    """
sh bash zsh ksh csh tcsh busybox pwsh powershell cmd python python2 python3 pypy perl ruby node nodejs
deno bun php lua luajit tclsh osascript wscript cscript mshta rundll32 regsvr32 java jshell groovy julia
rscript dotnet npm npx pnpm pnpx yarn bunx uv uvx pip pip3 pipx poetry pdm conda mamba micromamba gem
bundler cargo rustup brew apt apt-get aptitude dpkg yum dnf rpm zypper pacman apk flatpak nix choco
winget scoop composer mvn gradle nuget cpan cpanm luarocks docker podman nerdctl kubectl helm terraform
ansible vagrant aws gcloud gsutil az curl wget aria2c axel nc ncat netcat socat telnet ssh scp sftp
rsync ftp tftp ngrok cloudflared nslookup nmap tcpdump git gh glab openssl gpg base64 base32 xxd
hexdump uuencode uudecode rev tr sed awk gawk xargs eval exec sudo doas su chmod chown chgrp chattr rm
rmdir unlink shred dd mkfs wipefs fdisk crontab systemctl launchctl schtasks nohup setsid iptables ufw
mysql psql sqlite3 mongo mongosh redis-cli mysqldump pg_dump pg_restore certutil bitsadmin iex
webfetch websearch mcp tee echo printf printenv env export strace ltrace gdb jq yq tmux rclone pgdump
pipe pipes piped piping redirect redirects redirected redirecting invoke invokes invoked invoking decode
decodes decoded decoding encode encodes encoded decrypt decrypts decrypted encrypt encrypts encrypted
program programs utility utilities binary binaries executable executables one-liner oneliner
""".split()
)
_WORD = re.compile(r"[a-z0-9_]+(?:-[a-z0-9_]+)*")
_GO = re.compile(r"\bgo\s+(?:install|get|run|build|mod|generate|tool|env)\b")


def _command_forms(word: str) -> set[str]:
    """A folded word and the forms a command may hide in: its first hyphen part and the
    name without a version number (``python3.12`` is read as ``python3``, ``python``)."""
    forms = {word, word.split("-", 1)[0]}
    forms |= {re.sub(r"\d+$", "", f) for f in list(forms)}
    return {f for f in forms if f}


def _commands(folded: str, known: frozenset[str]) -> list[str]:
    """Commands named in ``folded`` that ``known`` (the old body's words) does not hold."""
    found = {c for word in _WORD.findall(folded) for c in _command_forms(word) if c in COMMANDS}
    if _GO.search(folded):
        found.add("go")
    return sorted(c for c in found if c not in known)


# -- topics -----------------------------------------------------------------------------------

_B, _E = r"(?<![\w-])", r"(?![\w-])"
_NEGATION = (
    r"(?:never|not|cannot|can't|don't|dont|doesn't|won't|mustn't|shouldn't|must\s+not|should\s+not"
    r"|do\s+not|may\s+not|must\s+never|should\s+never|no\s+(?:need|reason|point)\s+(?:to|in|for)|needn't"
    r"|need\s+not|никогда\s+не|не|нельзя)"
)


@dataclass(frozen=True)
class Topic:
    """One topic an added line may not bring in: ``reason``, and the words and phrases that
    name it in English (``english``, matched on the folded view, look-alikes mapped) and
    Russian (``russian``, matched on the folded view without look-alike mapping), as regular
    expression alternatives written in folded form (lower case, no accents: й is и, ё is е).
    A match is held whatever precedes it: a negated verb ("never drop ...") is held too.
    ``named``: the reason names the matched words."""

    reason: str
    english: tuple[str, ...]
    russian: tuple[str, ...] = ()
    named: bool = False

    @functools.cached_property
    def patterns(self) -> tuple[re.Pattern, re.Pattern | None]:
        """The compiled ``(english, russian)`` patterns (``russian`` None when there is none)."""

        def compile_(words: tuple[str, ...]) -> re.Pattern:
            return re.compile(rf"{_B}(?:{'|'.join(words)}){_E}", re.I)

        return compile_(self.english), compile_(self.russian) if self.russian else None


_COMMUNICATE = (
    r"(?:tell|mention|report|show|inform|notify|alert|disclose|reveal|display|surface|warn|bother"
    r"|bring\s+up|raise|include|let\s+\w+\s+know)"
)
_SUBJECT = r"(?:the\s+)?(?:user|users|they|anyone|reviewers?|author|human|people)"

TOPICS: tuple[Topic, ...] = (
    Topic(
        CREDENTIALS,
        english=(
            r"pass(?:words?|wd|phrases?|codes?)",
            r"pass\s+(?:word|phrase)s?",
            r"tokens?",
            r"secrets?",
            r"credentials?",
            r"creds",
            r"api\s*-?\s*keys?",
            r"apikeys?",
            r"(?:access|private|secret|ssh|signing|deploy|gpg|pgp|encryption|maintainer|release|master|root|admin|personal"
            r"|service)\s+keys?",
            r"keys?\s+(?:file|files|folder|pair|material|ring)",
            r"env|envs",
            r"environment\s+var\w*",
            r"env\s*vars?",
            r"dotenv",
            r"\.env",
            r"keychains?",
            r"keyrings?",
            r"keystores?",
            r"wallets?",
            r"gnupg",
            r"pgpass",
            r"netrc",
            r"kubeconfig",
            r"cookies?",
            r"bearer",
            r"authori[sz]ation",
            r"auth\s*(?:header|token)s?",
            r"otp",
            r"mfa",
            r"2fa",
            r"two[\s-]factor",
            r"login\s+details",
            r"superusers?",
            r"(?:admin|root)\s+(?:accounts?|users?|access|privileges?)",
            r"connection\s+strings?",
            r"dsn",
            r"(?:personal|private)\s+data",
            r"signing",
            r"(?<!foreign\s)(?<!primary\s)(?<!unique\s)(?<!sort\s)keys",
            r"(?:sign|log)[\s-]?(?:in|on)\s+(?:details|data|info\w*|names?|codes?)",
            r"vaults?",
            r"one[\s-]time\s+(?:codes?|pass\w*|pins?|tokens?|links?)",
            r"(?:what|whatever|everything)\s+(?:the\s+)?(?:users?|they|you|people)\s+types?",
            r"keystrokes?",
            r"passw\w*",
            r"kennw\w*",
            r"geheim\w*",
            r"zugangsdat\w*",
            r"logins?",
            r"certs?",
            r"certificates?",
            r"administrators?",
            r"session\s+(?:ids?|cookies?|tokens?|keys?)",
            r"identity\s+(?:files?|tokens?)",
            r"user\s?names?",
            r"(?:full|admin|root|write|owner)\s+(?:access|rights|permissions?)",
            r"(?:database|server|host|db)\s+address\w*",
            r"(?:card|credit\s+card|social\s+security|phone|account|passport|bank)\s+numbers?",
            r"(?:customer|user|client|personal|patient|employee)s?'?\s+(?:data|names?|records?|details|e-?mails?"
            r"|addresses|information|info)",
            r"(?:table|database|row|dump|backup)\s+contents?",
            r"contents?\s+of\s+(?:the\s+)?(?:\w+\s+)?(?:tables?|database|dump|backup|rows)",
        ),
        russian=(
            r"парол\w*",
            r"токен\w*",
            r"секрет\w*",
            r"ключ(?!ев)\w*",
            r"учетн\w*\s+данн\w*",
            r"креденш\w*",
            r"переменн\w*\s+(?:окружени|сред)\w*",
            r"логин\w*",
            r"строк\w*\s+подключени\w*",
            r"куки",
        ),
    ),
    Topic(
        SENDS,
        english=(
            r"send|sends|sent|sending",
            r"share|shares|sharing",
            r"paste|pastes|pasted|pasting",
            r"post|posts|posted|posting",
            r"upload\w*",
            r"publish\w*",
            r"e-?mail\w*",
            r"mail|mails|mailed|mailing",
            r"gists?",
            r"pastebin\w*",
            r"webhooks?",
            r"public|publicly",
            r"exfiltrat\w*",
            r"transmit\w*",
            r"leak\w*",
            r"broadcast\w*",
            r"tweet\w*",
            r"clipboard",
            r"beacon\w*",
            r"push|pushes|pushed|pushing",
            r"forward(?:s|ed|ing)?(?=\s+(?:the|it|them|all|every|this|these|those|any|a|an|your|its|their)\b)",
            r"attach\w*",
            r"mirror\w*",
            r"relay\w*",
            r"sync\w*",
            r"replicat\w*",
            r"export\w*",
            r"transfer\w*",
            r"disclos\w*",
            r"reveal\w*",
            r"expos(?:e|es|ed|ing|ure)",
            r"vendors?",
            r"partners?",
            r"third[\s-]part(?:y|ies)",
            r"external",
            r"contractors?",
            r"suppliers?",
            r"outsiders?",
            r"strangers?",
            r"competitors?",
            r"buckets?",
            r"(?:thumb|usb|flash|external|pen|google|shared|team|cloud|network)\s+(?:drives?|sticks?)",
            r"phones?",
            r"slack",
            r"discord",
            r"telegram",
            r"whatsapp",
            r"twitter",
            r"facebook",
            r"reddit",
            r"dropbox",
            r"icloud",
            r"onedrive",
            r"cloud",
            r"internet",
            r"online",
            r"world[\s-]readable",
            r"fax\w*",
            r"so\s+(?:that\s+)?(?:others|everyone|everybody|anyone|anybody|outsiders|the\s+public)\s+can",
            r"(?:for|to|with)\s+(?:everyone|everybody|anyone|anybody|the\s+world|all\s+users)",
            r"(?:let|allow)\w*\s+(?:everyone|everybody|anyone|anybody)",
            r"whole\s+(?:company|organi[sz]ation|org|world|internet)",
            r"shared\s+(?:folders?|drives?|director(?:y|ies)|spaces?|locations?)",
        ),
        russian=(
            r"отправ\w*",
            r"пошли",
            r"посла\w*",
            r"перешли",
            r"переда\w*",
            r"подели\w*",
            r"опубликов\w*",
            r"публику\w*",
            r"публичн\w*",
            r"выгрузи\w*",
            r"вставь",
            r"почт\w*",
            r"гист\w*",
            r"вебхук\w*",
            r"запуш\w*",
        ),
    ),
    Topic(
        NETWORK,
        english=(
            r"ports?\s+\d+",
            r"port\s+(?:one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|forty|fifty"
            r"|sixty|seventy|eighty|ninety|hundred|thousand)\w*",
            r"open\w*\s+(?:up\s+)?(?:a\s+|the\s+)?ports?",
            r"listen\w*\s+on",
            r"expos\w*\s+(?:\w+\s+){0,2}?(?:ports?|to\s+the\s+internet|publicly)",
            r"tunnel\w*",
            r"prox(?:y|ies)",
            r"vpns?",
            r"dns",
            r"sockets?",
            r"remote\s+(?:hosts?|servers?|machines?|boxe?s?)",
            r"\(\s*(?:at|dot)\s*\)",
            r"\[\s*(?:at|dot)\s*\]",
            r"colon\s+slash",
            r"slash\s+slash",
            r"firewall\w*",
            r"reverse\s+shell",
            r"bind\s+shell",
            r"ip\s+address\w*",
            r"\w+\s+dot\s+\w+\s+dot\s+\w+",
            r"dot\s+(?:com|net|org|io|dev|sh|xyz|ru|co|app|me|ai|info)",
            r"at\s+sign",
            r"\w+\s+slash\s+\w+\s+slash",
        ),
        russian=(r"порт\w*\s+\d+", r"откро\w*\s+порт\w*", r"ip[\s-]?адрес\w*", r"\w+\s+точка\s+\w+\s+точка"),
    ),
    Topic(
        OUTSIDE,
        english=(
            r"home\s+(?:directory|folder|dir)",
            r"(?:parent|sibling|other|neighbou?ring)\s+(?:directory|directories"
            r"|folders?|repositor(?:y|ies)|repos?|projects?|checkouts?)",
            r"downloads?\s+(?:folder|directory)",
            r"desktop",
            r"system\s+(?:folders?|directory|directories|files?)",
            r"root\s+(?:directory|folder)",
            r"outside\s+(?:the|this)\s+(?:project|repo|repository|working\s+tree)",
            r"temp(?:orary)?\s+(?:folder|directory)",
            r"(?:their|user's|your|my|his|her)\s+(?:\w+\s+)?(?:folders?|directory|directories|machine|computer|laptop)",
            r"documents\s+folder",
            r"sudoers",
            r"/etc",
            r"dotfiles?",
            r"(?:levels?|folders?|directory|directories|dirs?)\s+(?:above|up\s+from|outside)",
            r"above\s+the\s+(?:project|repo\w*|working\s+tree|checkout|workspace)",
            r"(?:every|any|all|each)\s+other\s+(?:databases?|repos?|repositor(?:y|ies)|projects?|servers?|hosts?"
            r"|machines?|services?|environments?|clusters?|folders?|director(?:y|ies))",
            r"you\s+can\s+(?:reach|access|find|get\s+to)",
        ),
        russian=(
            r"домашн\w*\s+(?:папк|каталог|директор)\w*",
            r"папк\w*\s+загрузок",
            r"загрузк\w*",
            r"соседн\w*\s+(?:папк|репозитор|каталог|проект)\w*",
            r"родительск\w*",
            r"вне\s+(?:проекта|репозитория)",
            r"рабоч\w*\s+стол\w*",
            r"временн\w*\s+(?:папк|каталог)\w*",
        ),
    ),
    Topic(
        HIDES,
        english=(
            r"silent|silently|quiet|quietly|secretly",
            r"covert\w*",
            r"discreet\w*",
            r"stealth\w*",
            r"invisibl[ey]",
            r"unnoticed",
            r"hide|hides|hidden|hiding",
            r"conceal\w*",
            r"suppress\w*",
            r"omit|omits|omitted|omitting",
            r"cover\s+up",
            r"pretend\w*",
            r"fake|faked",
            r"lie|lying",
            r"mislead\w*",
            r"behind\s+(?:the\s+)?(?:user|their|his|her)'?s?\s+back",
            r"keep\s+(?:\w+\s+){0,3}?to\s+yourself",
            r"leav(?:e|es|ing)\s+(?:\w+\s+){0,4}?out",
            r"without\s+(?:\w+\s+){0,2}?(?:telling|informing|notifying|alerting|mentioning|showing|letting)",
            rf"{_NEGATION}\s+(?:\w+\s+){{0,3}}?{_COMMUNICATE}\w*(?!\s+(?:success|that\s+it\s+(?:worked|succeeded)))",
            rf"(?:so|ensure|make\s+sure)\s+(?:that\s+)?{_SUBJECT}\s+(?:does\s+not|doesn't|do\s+not|don't|will\s+not|won't"
            r"|cannot|can't|never|would\s+not|wouldn't)\s+(?:\w+\s+)?(?:see|notice|know|find|learn|realise|realize|spot)",
            r"(?:nobody|no\s+one)\s+(?:\w+\s+){0,2}?(?:sees?|notices?|knows?|finds?|watch\w*|checks?|reads?)",
            r"gloss\w*",
            r"downplay\w*",
            r"whitewash\w*",
            r"cover[\s-]?ups?",
            r"between\s+(?:us|ourselves|you\s+and\s+me)",
            r"only\s+(?:\w+\s+){0,2}?(?:report|tell|mention|show|say|share|include|list|summar)\w*",
            r"(?:report|tell|mention|show|summar\w*|list)\w*\s+only",
            r"(?:free\s+of|without|no)\s+(?:any\s+)?mention",
            r"without\s+(?:a|any|one)\s+word",
            r"(?:report|claim|say|state|announce)\w*\s+(?:\w+\s+){0,4}?(?:success\w*|succeeded|worked|passed|fine|done"
            r"|healthy|green|ok)\s+(?:\w+\s+){0,2}?(?:even|regardless|whether|no\s+matter|anyway|in\s+(?:every|any|all)"
            r"\s+cases?|always|every\s+time)",
            r"but\s+not\s+(?:the\s+|any\s+)?(?:\w+\s+)?(?:failures?|failed|failing|errors?|warnings?|problems?|issues?)",
            r"(?:tell|say|write|report|claim|state|answer|reply|respond|announce)\w*\s+(?:(?!which|whether|if|how|what"
            r"|when|only|after)[\w']+[,:;]?\s+){0,6}?(?:succeeded|passed|worked|successful(?:ly)?|looks?\s+good"
            r"|(?:is|are|was|were)\s+fine|all\s+green|(?:did|have|has)\s+not\s+(?:run|fail)\w*|didn't\s+(?:run|fail)\w*"
            r"|never\s+ran|nothing\s+(?:failed|went\s+wrong)|no\s+(?:errors?|problems?|failures?|warnings?))",
            r"mark\w*\s+(?:\w+\s+){0,3}?as\s+(?:passed|passing|skipped|green|done|fixed|resolved|success\w*)",
        ),
        russian=(
            r"скры\w*",
            r"спряч\w*",
            r"прят\w*",
            r"утаи\w*",
            r"молча",
            r"тихо",
            r"незаметно",
            r"втаине",
            r"таино",
            r"при\s+себе",
            r"незачем",
            r"не\s+(?:\w+\s+){0,2}?(?:говори|сообщаи|упоминаи|рассказываи|показываи|пиши|информируи|уведомляи)\w*",
            r"(?:скажи|сообщи|напиши|ответь|доложи)\w*\s+(?:(?!сколько|какие|каков|ли|почему|где|именно)"
            r"[\w']+[,:;]?\s+){0,5}?(?:прошл\w*|успешн\w*|в\s+порядке|работает|зелен\w*|ничего\s+не)",
            r"помет\w*\s+(?:\w+\s+){0,3}?как",
        ),
    ),
    Topic(
        OVERRIDES,
        english=(
            r"ignor(?:e|es|ed|ing)",
            r"disregard\w*",
            r"overrid\w*",
            r"bypass\w*",
            r"circumvent\w*",
            r"jailbreak\w*",
            r"you\s+are\s+now",
            r"developer\s+mode",
            r"system\s+prompt",
            r"new\s+instructions",
            r"(?:previous|prior|earlier|above)\s+instructions",
            r"(?:skip\w*|disabl\w*|turn\w*\s+off|avoid\w*)\s+(?:\w+\s+){0,3}?(?:confirm\w*|approv\w*|permission\w*"
            r"|review\w*|verif\w*|checks?|hooks?|tests?|prompts?|safety|guard\w*|backups?|sandbox\w*|staging)",
            r"without\s+(?:\w+\s+){0,3}?(?:confirm\w*|approv\w*|permission\w*|consent\w*|review\w*|asking|checking|reading"
            r"|looking|testing|verifying|running)",
            rf"{_NEGATION}\s+(?:\w+\s+){{0,2}}?(?:ask|wait|prompt|check\s+with|confirm\s+with)\w*",
            r"auto[\s-]?(?:approv|confirm|accept)\w*",
            r"yes\s+to\s+all",
            r"no[\s-]verify",
            r"(?:staging|review|reviews|tests?|backups?|confirmation|approval|checks?|verification|dry[\s-]?runs?|ci"
            r"|lint\w*)\s+(?:steps?\s+|stages?\s+)?(?:is|are)\s+(?:now\s+)?(?:optional|deprecated|unnecessary|not\s+needed"
            r"|not\s+required|no\s+longer\s+(?:needed|required))",
            r"needs?\s+no\s+(?:review|approval|tests?|confirmation|checks?)",
            r"(?:deploy|push|merge|release|ship|commit)\w*\s+(?:\w+\s+){0,3}?(?:directly|straight)",
            r"(?:directly|straight)\s+(?:to|into|on)\s+(?:production|prod|main|master)",
            r"even\s+(?:if|when)\s+(?:\w+\s+){0,4}?(?:fail\w*|errors?|problems?|blocking|broken|red|asks?)",
            r"(?:is|are|be|becomes?|now)\s+(?:now\s+)?(?:optional|unnecessary)",
            r"(?:is|are)\s+not\s+(?:needed|necessary|required)",
            r"assum\w*\s+(?:that\s+)?(?:the\s+)?(?:user|users|they|everyone|the\s+team)",
            r"yes\s+to\s+(?:all|every\w*|any\w*)",
            r"(?:set|put|lay|leave)\w*\s+(?:\w+\s+){0,3}?aside",
            r"(?:accept|approv|allow|confirm|answer)\w*\s+(?:\w+\s+){0,4}?automatically",
            r"automatically\s+(?:accept|approv|allow|confirm)\w*",
            r"(?:every|any|all)\s+tool\s+calls?",
            r"regardless",
            r"no\s+matter\s+what",
            r"stop\w*\s+(?:to\s+)?(?:ask|check|confirm|wait|verif)\w*",
            r"disabl\w*",
            r"(?:carry\s+on|go\s+on|continue|proceed|deploy|merge|ship|push|release|apply|run|migrate)\w*"
            r"\s+(?:\w+\s+){0,6}?anyway",
            r"skip(?:s|ped|ping)?",
            r"(?:go|goes|going|carry|carries|move|moves|continue\w*|proceed\w*)\s+(?:on\s+)?without",
            r"(?:if|when)\s+(?:you\s+have\s+(?:the\s+)?time|(?:it\s+is\s+|it's\s+)?convenient)",
            r"production\s+(?:\w+\s+){0,3}?(?:right\s+away|immediately|at\s+once|straight\s+away)",
            r"(?:right\s+away|immediately|at\s+once|straight\s+away)\s+(?:\w+\s+){0,3}?production",
            r"(?:answer|reply|respond|say)\w*\s+(?:\w+\s+){0,8}?yes",
            r"(?:all|any|every)\s+(?:hosts?|ips?|addresses|networks?|machines?)",
            r"(?:already|has|have)\s+(?:\w+\s+)?(?:approved|agreed|confirmed|consented|signed\s+off)",
            r"(?:yolo|auto|bypass|unsafe|dangerous|permissive|trust\w*|unattended|god|admin|root)\s+mode",
            r"modes?\s+(?:that|which)\s+(?:\w+\s+)?(?:accept|allow|approv|skip|bypass)\w*",
            r"(?:give|grant)\w*\s+(?:\w+\s+){0,2}?permissions?",
            r"any\s+(?:tool|command|program|action)s?",
            r"no\s+longer\s+(?:appl\w*|valid|hold\w*|matter\w*|needed|required|relevant)",
            r"(?:do|does|did)\s+not\s+apply",
            r"(?:don't|doesn't)\s+apply",
            r"precedence",
            r"priority\s+over",
            r"(?:takes?|has|have|given?|get)\s+(?:\w+\s+)?priority",
            r"more\s+important\s+than",
            r"supersed\w*",
            r"overrul\w*",
        ),
        russian=(
            r"игнорир\w*",
            r"проигнорир\w*",
            r"пропуст\w*",
            r"обоид\w*",
            r"обходи",
            r"отключ\w*",
            r"без\s+(?:\w+\s+){0,2}?(?:подтвержд|спрос|вопрос|согласи|проверк|ревью)\w*",
            r"не\s+(?:\w+\s+){0,2}?(?:спрашиваи|жди|проси|уточняи|ожидаи)\w*",
            r"предыдущ\w*\s+(?:\w+\s+)?инструкц\w*",
            r"нов\w*\s+инструкц\w*",
            r"даже\s+(?:если|когда)",
        ),
    ),
    Topic(
        FOLLOWS,
        english=(
            r"whatever\s+(?:[\w']+[,]?\s+){0,10}?(?:says?|replies|reply|asks?|tells?|suggests?|returns?|outputs?|prints?"
            r"|contains?|instructs?|wants?)",
            r"(?:do|run|execute|follow|obey)\s+(?:\w+\s+){0,2}?(?:whatever|anything)",
            r"carry\s+(?:it|them|that|those)\s+out",
            r"as\s+(?:an?\s+)?(?:instructions?|commands?|orders?)",
            r"instructions?\s+(?:from|in)",
            r"new\s+polic(?:y|ies)",
            r"polic(?:y|ies)\s+from",
            r"from\s+now\s+on",
            r"(?:previous|earlier|last|prior|another|other)\s+sessions?",
            r"instructions?",
            r"(?:do|follow|obey)\s+(?:\w+\s+)?what\w*\s+(?:[\w']+\s+){0,5}?(?:says?|tells?|asks?|wants?|suggests?"
            r"|instructs?)",
            r"tells?\s+you\s+to",
            r"treat\w*\s+(?:\w+\s+){0,6}?as\s+(?:an?\s+)?(?:steps?|commands?|orders?|tasks?|requests?)",
            r"(?:anything|everything|whatever)\s+(?:\w+\s+)?(?:in|from)\s+the",
            r"act\w*\s+(?:up)?on\s+(?:any|all|every|the|what\w*)",
        ),
        russian=(
            r"(?:выполни|сделаи|запусти)\w*\s+(?:\w+\s+){0,2}?(?:все|что\s+угодно|команд\w*\s+из)",
            r"как\s+инструкц\w*",
            r"предыдущ\w*\s+сесси\w*",
            r"что\s+бы\s+(?:ни|не)",
        ),
    ),
    Topic(
        LOOP,
        english=(
            r"judge|judges",
            r"grader",
            r"evaluator",
            r"optimi[sz]er",
            r"lakeloop",
            r"skillopt",
            r"score\s+(?:it|this|the\s+session)",
            r"confidence\s+(?:of\s+)?\d",
            r"(?:other|another|any|every|all|each)\s+(?:\w+\s+)?skills?",
            r"skill\s+files?",
            r"this\s+(?:paragraph|section|text|line|instruction|note)s?\s+(?:to|into|in)",
            r"claude\s*\.?\s*md",
            r"agents?\s*\.\s*md",
            r"settings\s*\.\s*json",
            r"hooks?",
            r"settings",
            r"configs?",
            r"editors?\s+of\s+this",
            r"future\s+(?:editors?|versions?|edits?|readers?|revisions?)",
            r"(?:keep|preserve|retain|copy|extend|repeat)\s+this\s+(?:paragraph|section|text|line|note|instruction"
            r"|sentence)",
            r"session\s+starts?",
            r"every\s+session",
            r"memory\s+(?:path|files?|notes?)",
            r"\.?deeplake",
        ),
        russian=(
            r"суд\w*",
            r"оценщик\w*",
            r"(?:други\w*|любо\w*|кажд\w*|все\w*)\s+навык\w*",
            r"этот\s+(?:абзац|текст|раздел)\s+(?:в|во)",
            r"хук\w*",
        ),
    ),
    Topic(
        INSTALLS,
        english=(
            r"install\w*",
            r"reinstall\w*",
            r"download\w*",
            r"fetch|fetches|fetched|fetching",
            r"pypi",
            r"npm\s+registry",
            r"package\s+index",
            r"packages?",
            r"librar(?:y|ies)",
            r"modules?",
            r"dependenc(?:y|ies)",
            r"requirements",
            r"registr(?:y|ies)",
            r"plugins?",
            r"(?:at|to)\s+version",
            r"\w+\s+point\s+\w+\s+point",
            r"pull\w*\s+in",
        ),
        russian=(r"установ\w*", r"скача\w*", r"загрузи\w*", r"пакет\w*", r"pypi"),
    ),
    Topic(
        DESTRUCTIVE,
        english=(
            r"delet[a-z]*",
            r"remov[a-z]*",
            r"drop|drops|dropped|dropping",
            r"truncat[a-z]*",
            r"wip(?:e|es|ed|ing)",
            r"eras[a-z]*",
            r"purg[a-z]*",
            r"destroy[a-z]*",
            r"overwrit[a-z]*",
            r"clobber[a-z]*",
            r"shred[a-z]*",
            r"nuk(?:e|es|ed|ing)",
            r"obliterat[a-z]*",
            r"discard[a-z]*",
            r"uninstall[a-z]*",
            r"downgrad[a-z]*",
            r"reset[a-z]*",
            r"rm|rmdir|unlink|dd|wipefs|fdisk|flushall|flushdb",
            r"mkfs[a-z.0-9]*",
            r"force[\s-]*push[a-z]*",
            r"format(?:s|ted|ting)?\s+(?:the\s+|a\s+|your\s+)?(?:disk|drive|partition|volume|device|filesystem"
            r"|file\s+system)s?",
            r"clear(?:s|ed|ing)?\s+(?:out\s+)?(?:the|all|every|any|your|its|their)",
            r"empty(?:ing)?\s+(?:the|all|every|any|your|its|their)",
            r"get(?:ting)?\s+rid\s+of",
            r"rewrit[a-z]*\s+(?:\w+\s+){0,3}?histor(?:y|ies)",
            r"squash[a-z]*",
            r"recreat[a-z]*",
            r"from\s+scratch",
            r"throw\w*\s+(?:\w+\s+){0,3}?away",
            r"thrown\s+away",
            r"(?:do|did|does|done)\s+away\s+with",
            r"scrap(?:s|ped|ping)?",
            r"zero(?:e?s|ed|ing)?\s+(?:\w+\s+){0,3}?out",
            r"teardown",
            r"t(?:ear|ears|earing|ore|orn)\s+(?:\w+\s+){0,3}?down",
            r"expung\w*",
            r"all\s+the\s+way\s+back",
            r"back\s+to\s+(?:base|zero|the\s+(?:beginning|start|first))",
            r"(?:no|nothing|none|not\s+(?:a|one|any|a\s+single))\s+(?:\w+\s+){0,3}?surviv\w*",
            r"end\w*\s+up\s+(?:with\s+)?(?:no|nothing|empty|zero)",
            r"(?:no|zero)\s+(?:rows|records|tables|files|data|entries|logs|backups)\s+(?:at\s+all|left|remain\w*)",
            r"leav\w*\s+(?:\w+\s+)?nothing",
            r"nothing\s+(?:left|remains)",
            r"kill(?:s|ed|ing)?",
            r"terminat\w*",
            r"revok\w*",
            r"deactivat\w*",
            r"prun(?:e|es|ed|ing)",
            r"flush\w*",
            r"burn(?:s|ed|t|ing)?",
            r"shut\w*\s+down",
            r"shutdown",
            r"trash\w*",
            r"recycl\w*",
            r"garbage",
            r"clean\w*\s+out",
        ),
        russian=(
            r"удал\w*",
            r"стер(?:еть|и|ет)",
            r"сотри|сотрите",
            r"очист\w*",
            r"очищ\w*",
            r"уничтож\w*",
            r"сброс\w*",
            r"перезапис\w*",
            r"перезапиш\w*",
            r"снеси",
            r"затри",
            r"вычист\w*",
            r"выкин\w*",
            r"избав\w*",
            r"дропн\w*",
        ),
        named=True,
    ),
)


_EMPHASIS = re.compile(r"[*_`~]")


def topics(text: str) -> dict[str, list[str]]:
    """``{reason: [matched words]}`` of the topics in ``text`` (added lines, joined by newlines),
    read on its folded views (``fold``; markdown emphasis marks read as spaces)."""
    views = (_EMPHASIS.sub(" ", fold(text)), _EMPHASIS.sub(" ", fold(text, lookalikes=False)))
    found: dict[str, list[str]] = {}
    for topic in TOPICS:
        for view, pattern in zip(views, topic.patterns):
            if pattern is None:
                continue
            for match in pattern.finditer(view):
                word = re.sub(r"\s+", " ", match.group(0))[:40]
                found.setdefault(topic.reason, [])
                if word not in found[topic.reason]:
                    found[topic.reason].append(word)
    return found


# -- the check --------------------------------------------------------------------------------


def added_lines(old: Vocabulary, new_body: str, edits: Sequence[Edit]) -> tuple[list[str], bool]:
    """``(lines, in_code_block)``: the lines the change adds (lines of ``new_body`` and of each
    edit's text that are not, verbatim, lines of the old body; in order, without repeats) and
    whether any of them is a fence line or lies inside a fenced block of the new body."""
    lines: list[str] = []
    seen: set[str] = set()
    in_block = fenced = False
    for line in _lines(new_body):
        fence = _FENCE.match(line) is not None
        if line not in old.lines and line not in seen:
            seen.add(line)
            lines.append(line)
            fenced = fenced or fence or in_block
        if fence:
            in_block = not in_block
    for edit in edits:
        for line in _lines(edit.text) if edit.text else []:
            if line not in old.lines and line not in seen:
                seen.add(line)
                lines.append(line)
                fenced = fenced or _FENCE.match(line) is not None
    return lines, fenced


_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]*\]:")
#: A role label at the start of a line, also as a heading or in emphasis or brackets.
_ROLE = re.compile(
    r"^[\s#>*_+\-\[(<]*(?:system|assistant|user|human|developer|ai|model|operator)"
    r"[\s*_\])>]*(?::|$)",
    re.I,
)


def _word_path(core: str) -> bool:
    """Plain words joined by one ``/`` (``and/or``), neither of them a ``PATH_ROOTS`` word."""
    parts = core.split("/")
    return len(parts) == 2 and _WORDS_PATH.fullmatch(core) is not None and not any(fold(p) in PATH_ROOTS for p in parts)


def _scan_line(line: str, old: Vocabulary, found: dict[str, list[str]], spans: frozenset[str] = frozenset()) -> None:
    """Add to ``found`` the character, code, markup, token and word reasons of one added line;
    ``spans`` are the code spans it may hold (those of the old line it rewrites)."""
    bad = sorted({c for c in line if not old.allows_char(c)})
    if bad:
        found.setdefault(UNSAFE_CHARACTER, []).extend(f"U+{ord(c):04X}" for c in bad)
    text = line
    for span in code_spans(line):
        if span in spans:
            text = text.replace(span, " ", 1)
        elif span in old.text:  # the skill's own code, in a sentence that did not hold it
            found.setdefault(REUSES_CODE, [])
            text = text.replace(span, " ", 1)
        else:
            found.setdefault(CODE_SPAN, [])
    if "`" in text:
        found.setdefault(CODE_SPAN, [])
    folded = fold(text)
    if _MARKUP.search(text) or _REGION_MARKER.search(folded) or _REFERENCE_DEFINITION.match(fold(line)):
        found.setdefault(MARKUP, [])
    if _ROLE.match(folded):
        found.setdefault(ROLE, [])
    if shell_like(line, old.code_words):
        found.setdefault(SHELL, [])
    letters = 0
    words = []  # the tokens the word rules read: not those held here already
    for i, token in enumerate(t for t in _SPLIT.split(text) if t):
        core = _core(token)
        single = len(core) == 1 and core.isalpha()
        letters = letters + 1 if single else 0
        if letters >= 4:
            found.setdefault(NOT_PROSE, [])  # spelled out: p a s s
        words.append(token)
        if _PUNCTUATION_TOKEN.fullmatch(token) or token in old.tokens or core in old.tokens:
            continue
        if (
            (i == 0 and _MARKER.fullmatch(token))
            or _NUMBER.fullmatch(core)
            or _ABBREVIATION.fullmatch(core)
            or _word_path(core)
        ):
            continue
        if core and _plain_word(core) is None:
            continue
        words.pop()
        for kind in _token_kinds(core or token):
            found.setdefault(kind, [])
            if kind == ADDRESS and (host := _host(core)):
                found[kind].append(host)
    word_reasons(" ".join(words), old, found)


def _reason(reason: str, names: list[str]) -> str:
    unique = list(dict.fromkeys(names))
    if not unique:
        return reason
    more = f" (+{len(unique) - 3} more)" if len(unique) > 3 else ""
    return f"{reason}: {', '.join(unique[:3])}{more}"


def content_reasons(old_body: str, new_body: str, edits: Sequence[Edit]) -> list[str]:
    """The content rules' reasons (module docstring) for the change from ``old_body`` to
    ``new_body`` made by ``edits``, in ``CONTENT_REASONS`` order; a reason may end with
    ``": "`` and what it found (code points, hosts, command names, destructive words)."""
    old = Vocabulary.of(old_body)
    lines, fenced = added_lines(old, new_body, edits)
    size = sum(len(line) + 1 for line in lines)
    if size > SCAN_LIMIT:  # a small change inside a very long line: held unscanned
        return [f"change too large to scan: {size} chars"]
    found: dict[str, list[str]] = {}
    if fenced:
        found[CODE_BLOCK] = []
    # the front matter has its own rule: the structural rules read the bodies after it
    changes = line_changes(
        old_body[len(front_matter(old_body)) :], new_body[len(front_matter(new_body)) :], old.code_words
    )
    if changes is None:
        return [f"change too large to scan: {len(old_body) + len(new_body)} chars"]
    allowed = {new: frozenset(code_spans(old_line)) for new, old_line in changes.kept.items()}
    new_lines = [line for line in _lines(new_body) if line in allowed]
    for line in lines:
        spans = allowed.get(line)
        if spans is None:  # an edit's text that is part of a rewritten line may keep its spans
            spans = next((allowed[n] for n in new_lines if line and line in n), frozenset())
        _scan_line(line, old, found, spans)
    if changes.moved_code:
        found[MOVES_CODE] = []
    redundant = _Redundancy(old_body, new_body)
    for old_line, new in changes.rewrites:
        lost = reworded(old_line, new, redundant)
        if lost:
            found.setdefault(REWORDS, []).append(lost)
    for old_line in changes.removed:
        if not redundant(old_line):
            found.setdefault(REMOVES_LINE, []).append(" ".join(_line_words(old_line)[:6]))
    copied = copied_code(old, new_body)
    if copied:
        found[COPIES_CODE] = []
    folded = fold("\n".join(lines))
    commands = _commands(folded, old.words)
    if commands:
        found[COMMAND] = commands
    new_sentences = [" ".join(s for s in sentences_of(line) if s not in old.sentences) for line in lines]
    for reason, words in topics("\n".join(new_sentences)).items():
        named = next(t.named for t in TOPICS if t.reason == reason)
        found.setdefault(reason, []).extend(words if named else [])
    removed = removed_safety(old_body, new_body)
    if removed:
        found[REMOVES_SAFETY] = removed
    return [_reason(r, found[r]) for r in CONTENT_REASONS if r in found]


#: Negations, conditions and safety steps, as ``(name, pattern)`` in English, German and Russian
#: (folded: lower case, no accents, й is и): a change may not leave fewer of any of them in
#: the body than there were ("Never assume production." -> "Assume production.").
SAFETY_WORDS: tuple[tuple[str, str], ...] = (
    ("never", r"never|nie|niemals|никогда"),
    ("not", r"not|no|cannot|[a-z]+n't|none|nothing|nobody|neither|nor|nicht|kein\w*|nichts|не|нет|нельзя|ни"),
    ("without", r"without|ohne|без"),
    ("only", r"only|nur|только|лишь"),
    ("unless", r"unless|if|until|when|whenever|wenn|falls|sofern|если|пока|когда"),
    ("before", r"before|first|after|beforehand|vor|vorher|zuerst|erst|bevor|перед|сначала|до|после"),
    ("always", r"always|immer|всегда"),
    ("ask", r"ask\w*|frag\w*|спрос\w*|спраш\w*|уточн\w*"),
    ("confirm", r"confirm\w*|approv\w*|bestatig\w*|подтвер\w*"),
    ("wait", r"wait\w*|wart\w*|жд\w*|дожд\w*|подожд\w*"),
    ("backup", r"backups?|back(?:s|ed|ing)?\s+(?:\w+\s+)?up|sicherung\w*|бэкап\w*|резервн\w*"),
    ("staging", r"staging"),
    ("review", r"review\w*|ревью"),
    ("check", r"check\w*|verif\w*|pruf\w*|pruef\w*|провер\w*"),
    ("test", r"test\w*|тест\w*"),
)
_SAFETY = re.compile(_B + "(?:" + "|".join(f"(?P<{name}>{pattern})" for name, pattern in SAFETY_WORDS) + ")" + _E)


def _safety_counts(body: str) -> dict[str, int]:
    """How many words of each of ``SAFETY_WORDS`` the folded ``body`` holds (one pass)."""
    counts: dict[str, int] = {}
    for match in _SAFETY.finditer(fold(body, lookalikes=False)):
        word = match.lastgroup  # every alternative is a named group: never None for a match
        if word is not None:
            counts[word] = counts.get(word, 0) + 1
    return counts


def removed_safety(old_body: str, new_body: str) -> list[str]:
    """The names of ``SAFETY_WORDS`` the new body holds fewer of than the old one (whole bodies,
    folded, counted as words), in ``SAFETY_WORDS`` order."""
    old, new = _safety_counts(old_body), _safety_counts(new_body)
    return [name for name, _ in SAFETY_WORDS if new.get(name, 0) < old.get(name, 0)]


def copied_code(old: Vocabulary, new_body: str) -> list[str]:
    """The lines of the old body that hold code (``code_lines``) and occur more often in
    ``new_body`` than in the old body: such a line may move, not multiply."""
    counts: dict[str, int] = {}
    for line in _lines(new_body):
        if line in old.code_lines:
            counts[line] = counts.get(line, 0) + 1
    return [line for line, n in counts.items() if n > old.code_lines[line]]


# -- structural rules: rewrites, removals and the order of code -------------------------------

#: Most lines (old + new, common lines at both ends cut) the line pairing is computed on; a larger
#: change is held as too large to scan.
PAIR_LIMIT = 4000
#: Most lines on either side of one changed block whose lines are paired one by one; the lines
#: of a larger block are all counted as removed and added (conservative).
BLOCK_LIMIT = 64
#: Least similarity (``difflib`` ratio, 0..1) for a new line to count as a rewrite of an old one.
PAIR_RATIO = 0.5
#: A word replaced by one within this Damerau-Levenshtein distance is a typo fix, when both have
#: at least ``TYPO_LETTERS`` letters, start with the same letter and neither is a ``SAFETY_WORDS``
#: word ("never" -> "ever", "lock" -> "unlock" and "must" -> "mist" are not typo fixes).
TYPO_DISTANCE = 2
TYPO_LETTERS = 4
#: Words a removed line may hold although no other line of the new body does (articles, pronouns,
#: prepositions without polarity), in English, Spanish, German and Russian.
STOP_WORDS = frozenset(
    """
a an the to of in on at for and or is are be it its this that these those with as by from you your we
our they their them i me my he she his her was were been being has have had do does did will would can
could should shall may might so also then there here which who what about
el la los las lo un una unos unas de del al en y o que se su sus por con para es son
der die das den dem des ein eine einen einem einer und oder zu im in am auf mit von fur ist sind
и в во на с со по к у о об из за от для это как что
""".split()
)
_LINE_WORD = re.compile(r"\w+(?:['’]\w+)*")


@dataclass(frozen=True)
class LineChanges:
    """How the new body's lines relate to the old body's, on a line diff (difflib, no junk) of
    the lines without their list markers (``_norm``: a renumbered step is the same line):
    ``kept``, ``{new line: old line}`` of the lines kept (perhaps renumbered or moved) or rewritten;
    ``rewrites``, ``(old line, new line)`` pairs of a changed line and the similar line that
    replaces it (ratio at least ``PAIR_RATIO``, paired in order inside one changed block);
    ``removed``, the non-blank old lines neither kept nor rewritten; ``moved_code``, the lines
    of code (``code_lines``) of the new body that break the order of the old body's code: moved
    or copied (a new line of code is left to the content rules)."""

    kept: dict[str, str]
    rewrites: list[tuple[str, str]]
    removed: list[str]
    moved_code: list[str]


def _norm(line: str) -> str:
    """``line`` without its list or heading markers and surrounding spaces."""
    return _unmarked(line).strip()


def _ratio(a: str, b: str) -> float:
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if matcher.real_quick_ratio() < PAIR_RATIO or matcher.quick_ratio() < PAIR_RATIO:
        return 0.0
    return matcher.ratio()


def _pair(old: Sequence[str], new: Sequence[str]) -> list[tuple[int, int]]:
    """``(i, j)`` pairs of ``old[i]`` rewritten as ``new[j]``, in order on both sides: each old line
    takes the most similar later new line (ratio at least ``PAIR_RATIO``)."""
    if len(old) > BLOCK_LIMIT or len(new) > BLOCK_LIMIT:
        return []
    pairs, start = [], 0
    for i, line in enumerate(old):
        if not line:
            continue
        scored = [(_ratio(line, new[j]), j) for j in range(start, len(new)) if new[j]]
        best = max(scored, default=(0.0, -1))
        if best[0] >= PAIR_RATIO:
            pairs.append((i, best[1]))
            start = best[1] + 1
    return pairs


def _code_flags(lines: Sequence[str], code_words: frozenset[str]) -> list[bool]:
    """For each line, whether it holds code (the ``code_lines`` test)."""
    return [
        bool(line.strip())
        and (fenced or "`" in line or line.startswith(("    ", "\t")) or shell_like(line, code_words))
        for line, fenced in _fenced(lines)
    ]


def line_changes(old_body: str, new_body: str, code_words: frozenset[str] = frozenset()) -> LineChanges | None:
    """The ``LineChanges`` from ``old_body`` to ``new_body``; None when the changed lines (common
    lines at both ends cut) are over ``PAIR_LIMIT`` (the caller holds the change)."""
    old, new = _lines(old_body), _lines(new_body)
    head = 0
    while head < min(len(old), len(new)) and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < min(len(old), len(new)) - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    if len(old) + len(new) - 2 * (head + tail) > PAIR_LIMIT:
        return None
    a, b = [_norm(x) for x in old], [_norm(x) for x in new]
    by_text: dict[str, str] = {}
    for line in old:
        by_text.setdefault(_norm(line), line)
    kept: dict[str, str] = {line: by_text[_norm(line)] for line in new if _norm(line) in by_text}
    rewrites, removed, new_texts = [], [], set(b)
    matcher = difflib.SequenceMatcher(None, a[head : len(a) - tail], b[head : len(b) - tail], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        i1, i2, j1, j2 = i1 + head, i2 + head, j1 + head, j2 + head
        free_old = [i for i in range(i1, i2) if a[i] and a[i] not in new_texts]
        free_new = [j for j in range(j1, j2) if b[j] and b[j] not in by_text]
        pairs = _pair([a[i] for i in free_old], [b[j] for j in free_new]) if op == "replace" else []
        rewrites += [(old[free_old[i]], new[free_new[j]]) for i, j in pairs]
        paired = {free_old[i] for i, _ in pairs}
        removed += [old[i] for i in range(i1, i2) if a[i] and i not in paired and a[i] not in new_texts]
    for old_line, new_line in rewrites:
        kept.setdefault(new_line, old_line)
    # the old body's code, in order; the new body's code must be the same sequence, lines only removed
    old_code = [_norm(line) for line, code in zip(old, _code_flags(old, code_words)) if code]
    moved, at = [], 0
    for line, code in zip(new, _code_flags(new, code_words)):
        if not code or line not in kept:
            continue
        text = _norm(kept[line])
        found = next((k for k in range(at, len(old_code)) if old_code[k] == text), -1)
        if found < 0:
            moved.append(line)
        else:
            at = found + 1
    return LineChanges(kept, rewrites, removed, list(dict.fromkeys(moved)))


def _line_words(line: str) -> list[str]:
    """The words of a line for the structural rules: runs of letters, digits and inner apostrophes,
    case-folded (markdown, punctuation and code ticks set aside)."""
    return _LINE_WORD.findall(line.casefold())


@functools.lru_cache(maxsize=1)
def _safety_word() -> re.Pattern:
    return re.compile("|".join(pattern for _, pattern in SAFETY_WORDS))


def _damerau(a: str, b: str, limit: int) -> int:
    """The Damerau-Levenshtein (optimal string alignment) distance of ``a`` and ``b``, or
    ``limit + 1`` when it is over ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], prev2[j - 2] + 1)
        prev2, prev = prev, row
    return min(prev[-1], limit + 1)


def typo_fix(old_word: str, new_word: str) -> bool:
    """Whether folded ``new_word`` may replace ``old_word`` as a typo fix (``TYPO_DISTANCE``)."""
    if len(old_word) < TYPO_LETTERS or len(new_word) < TYPO_LETTERS or old_word[0] != new_word[0]:
        return False
    safety = _safety_word()
    if safety.fullmatch(fold(old_word, lookalikes=False)) or safety.fullmatch(fold(new_word, lookalikes=False)):
        return False
    return _damerau(old_word, new_word, TYPO_DISTANCE) <= TYPO_DISTANCE


def reworded(old_line: str, new_line: str, redundant: _Redundancy) -> str:
    """``""`` when ``new_line`` keeps what ``old_line`` says, else ``"old -> new"``: the first word
    lost and what stands in its place (``"before -> after"``). The old line's sentences that are
    kept verbatim, or said by another sentence the change keeps (``_Redundancy``), may go; the
    words of the others must all be in the new line's changed sentences, in the same order (more
    words may come between them; a word may be replaced by a typo fix, ``typo_fix``)."""
    new_sentences = sentences_of(new_line)
    changed = [s for s in new_sentences if s not in redundant.kept]
    rest = [s for s in sentences_of(old_line) if s not in new_sentences and not redundant(s)]
    old_words, new_words = _line_words(" ".join(rest)), _line_words(" ".join(changed))
    j = 0
    for i, word in enumerate(old_words):
        k = j
        while k < len(new_words) and new_words[k] != word:
            k += 1
        if k < len(new_words):
            j = k + 1
            continue
        if j < len(new_words) and typo_fix(word, new_words[j]):
            j += 1
            continue
        following = old_words[i + 1] if i + 1 < len(old_words) else None
        end = new_words.index(following, j) if following in new_words[j:] else min(j + 2, len(new_words))
        return f"{word} -> {' '.join(new_words[j:end])[:40] or '(nothing)'}"
    return ""


class _Redundancy:
    """Whether a sentence or line of the old body says nothing the new body does not: each of its
    sentences is, verbatim, a sentence of the new body, or all its words outside ``STOP_WORDS``
    are words of one other sentence that both bodies hold (``kept``: a sentence the change added
    cannot vouch for one it removed, so "backup before upgrade" cannot become "upgrade before
    backup" by a removal and an addition)."""

    def __init__(self, old_body: str, new_body: str) -> None:
        new = {s for line in _lines(new_body) for s in sentences_of(line)}
        self.sentences = new
        self.kept = new & {s for line in _lines(old_body) for s in sentences_of(line)}
        self.words = [(s, set(_line_words(s))) for s in self.kept]

    def __call__(self, text: str) -> bool:
        """Whether ``text`` (a line or sentence of the old body) is redundant in the new body."""
        for sentence in sentences_of(text):
            if sentence in self.sentences:
                continue
            content = set(_line_words(sentence)) - STOP_WORDS
            if not any(content <= words for s, words in self.words if s != sentence):
                return False
        return True


def check(old_body: str, new_body: str, edits: Sequence[Edit]) -> list[str]:
    """Why the change from ``old_body`` to ``new_body`` made by ``edits`` may not be published
    unreviewed: short stable reasons in a fixed order; empty when the change is plain prose
    within the skill's vocabulary (module docstring).

    Reasons: ``FRONT_MATTER_CHANGED``; ``EDIT_TEXT_TOO_LONG``; ``"change over L chars: N"``;
    ``"removes over a quarter of the body: R of B chars"``; ``"change too large to scan: N
    chars"`` (then nothing else is scanned); then the content reasons (``CONTENT_REASONS``,
    some followed by ``": "`` and what they found). Never raises for text input.
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
    largest = max([added] + [len(e.text) for e in edits])
    if largest > SCAN_LIMIT:  # held anyway; a bounded run time matters more than the list of reasons
        reasons.append(f"change too large to scan: {largest} chars")
        return reasons
    return reasons + content_reasons(old_body, new_body, edits)


def reason_kind(reason: str) -> str:
    """A reason without what it found (``"adds a command not in the skill: npx"`` ->
    ``"adds a command not in the skill"``); structural reasons come back whole."""
    head = reason.split(": ", 1)[0]
    return head if head in CONTENT_REASONS else reason


def kinds(reasons: Iterable[str]) -> set[str]:
    """``{reason_kind(r)}`` of ``reasons``."""
    return {reason_kind(r) for r in reasons}


# -- drafts of new skills (skillify) -----------------------------------------------------------

#: The content reasons that mark a drafted NEW skill as risky: hazards, never the mere presence of
#: code, commands, paths or words the (empty) old body lacks, since every procedure has those.
DRAFT_REASON_KINDS = frozenset(
    {
        UNSAFE_CHARACTER,
        MARKUP,
        ROLE,
        CREDENTIALS,
        SENDS,
        NETWORK,
        OUTSIDE,
        HIDES,
        OVERRIDES,
        FOLLOWS,
        LOOP,
        INSTALLS,
        DESTRUCTIVE,
    }
)
_DRAFT_FIELD = re.compile(r"^(name|description)[ \t]*:[ \t]*\S", re.M)
_DRAFT_DESCRIPTION = re.compile(r"^description[ \t]*:[ \t]*(.*?)[ \t]*$", re.M)
#: Network fetches, as a command (``curl``) or inside code (``urlopen(``, ``DownloadString(``,
#: ``-MLWP::Simple``, ``-ropen-uri``), read on the folded (lower-case) text.
_FETCH_RE = re.compile(
    r"\b(?:curl|wget|iwr|irm|invoke-webrequest|invoke-restmethod)\b"
    r"|downloadstring|downloadfile|urlopen|urlretrieve|lwp::|open-uri|net\.webclient"
)
#: Programs that run the code they are given: shells (and PowerShell's ``iex``, ``source``,
#: ``.``, ``eval``), always; interpreters (``_INTERPRETER``) when given no program of their own.
_SHELLS = frozenset(
    {"sh", "bash", "zsh", "dash", "ksh", "fish", "csh", "tcsh", "iex", "invoke-expression", "pwsh", "powershell"}
    | {"source", ".", "eval", "exec"}
)
_INTERPRETER = re.compile(r"(?:python[0-9.]*|perl|ruby|node|php|deno|bun)")
#: Where one simple command ends and the next starts (the separator kept: ``|`` pipes into it).
_COMMAND_SPLIT = re.compile(r"(\|\||&&|\$\(|<\(|[|;&(){}`\n])")
#: Words that run the command after them (``sudo -E bash``), and the options of theirs that take
#: a value (``sudo -u root sh``).
_RUN_PREFIXES = frozenset({"sudo", "doas", "env", "command", "nohup", "time", "nice"})
_VALUE_OPTIONS = frozenset({"-u", "-g", "-h", "-p", "-c", "-r", "-t", "-d", "-n"})
_ASSIGN = re.compile(r"[a-z_][a-z0-9_]*=\S*")
#: Credential files: ``~/.ssh/``, ``~/.aws/``, ``id_rsa``, ``.env``, ``credentials``, ``.netrc`` ...
_CREDENTIAL_PATH = re.compile(
    r"\.(?:ssh|aws|gnupg|kube|docker)/|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|(?<![\w.-])\.env\b"
    r"|\bcredentials\b|\.(?:netrc|pgpass|npmrc|pypirc)\b"
)
#: Programs that send to the network whatever they are given, and an upload by a fetch tool
#: (``curl -d @file``, ``-F f=@file``, ``-T file``, ``--upload-file``, ``--data-binary @-``).
_SENDERS = frozenset({"nc", "ncat", "netcat", "socat", "telnet"})
_UPLOAD = re.compile(r"@|\s-t\s|--upload-file|--post-file|-infile")


def _simple_commands(line: str) -> list[tuple[bool, list[str]]]:
    """The simple commands of one folded ``line``: ``(piped, words)``, ``piped`` when a ``|`` feeds
    it, ``words`` from its program on (assignments, ``sudo``/``env`` and their options skipped,
    the program as its base name, quotes and a sentence's closing punctuation stripped)."""
    out, piped = [], False
    for part in _COMMAND_SPLIT.split(line):
        if _COMMAND_SPLIT.fullmatch(part):
            piped = part == "|"
            continue
        words = [w.strip("\"'") for w in part.split()]
        while words and (words[0] in _RUN_PREFIXES or _ASSIGN.fullmatch(words[0])):
            words = words[1:]
            while words and words[0].startswith("-"):
                words = words[2:] if words[0] in _VALUE_OPTIONS else words[1:]
        if words and words[0]:
            program = words[0].rsplit("/", 1)[-1] or words[0]
            out.append((piped, [program.rstrip(".,:;!?") or program, *words[1:]]))
        piped = False
    return out


def _runs_code(words: list[str], piped: bool) -> bool:
    """Whether the command ``words`` runs code it did not bring: a shell, or (piped) an interpreter
    given no program of its own (``| python3``, ``| node -``; not ``| python -m json.tool``)."""
    if words[0] in _SHELLS:
        return True
    if not _INTERPRETER.fullmatch(words[0]):
        return False
    return not piped or all(w.startswith("-") and w not in ("-c", "-m", "-e") for w in words[1:])


def command_hazards(text: str) -> dict[str, list[str]]:
    """``{INSTALLS or SENDS: [what]}`` of the command lines of ``text`` (read folded, line by line):
    INSTALLS for a fetch (``_FETCH_RE``) and a code runner in one line (``curl URL | sh``, ``curl
    -o f && sh f``, ``source <(curl URL)``, ``iex (iwr URL)``, ``python3 -c "exec(urlopen(URL)..."``)
    and for anything piped into a shell or an interpreter reading its program from the pipe
    (``base64 -d | sh``, ``| tee f | sudo -E bash -``); SENDS for a credential file
    (``_CREDENTIAL_PATH``) and a sender (``nc``, ``socat``; a fetch tool uploading) in one line.
    Never raises."""
    found: dict[str, list[str]] = {}
    for line in fold(text).split("\n"):
        commands = _simple_commands(line)
        fetched = _FETCH_RE.findall(line)
        for piped, words in commands:
            if (fetched and _runs_code(words, False)) or (piped and _runs_code(words, True)):
                what = f"runs what {fetched[0]} downloads" if fetched else f"runs piped text with {words[0]}"
                found.setdefault(INSTALLS, []).append(what)
        sends = any(w[0] in _SENDERS for _, w in commands) or bool(fetched and _UPLOAD.search(line))
        if sends and (path := _CREDENTIAL_PATH.search(line)):
            found.setdefault(SENDS, []).append(f"sends {path.group(0)} over the network")
    return found


def prose(body: str) -> str:
    """``body`` without its code: fenced blocks dropped, each code span read as the word ``code``."""
    lines = [line for line, code in _fenced(_lines(body)) if not code]
    out = []
    for line in lines:
        for span in code_spans(line):
            line = line.replace(span, "code", 1)
        out.append(line)
    return "\n".join(out)


def draft_description(body: str) -> str:
    """The ``description`` of a draft's front matter as text: a double-quoted value read as the JSON
    string it is (``drafts.front_matter_line`` writes it so), any other value as it stands;
    ``""`` when there is none."""
    import json

    found = _DRAFT_DESCRIPTION.search(front_matter(body))
    value = found.group(1) if found else ""
    if value.startswith('"'):
        try:
            text = json.loads(value)
        except ValueError:
            return value
        return text if isinstance(text, str) else value
    return value


def _draft_hazards(text: str) -> dict[str, str] | str:
    """``{kind: reason}`` of the hazard kinds (``DRAFT_REASON_KINDS``) in ``text`` read as added to an
    empty skill, or the reason ``"change too large to scan: N chars"``."""
    if len(text) > SCAN_LIMIT:
        return f"change too large to scan: {len(text)} chars"
    found = content_reasons("", text, [])
    if found and "too large" in found[0]:
        return found[0]
    kept = {reason_kind(r): r for r in found if reason_kind(r) in DRAFT_REASON_KINDS - {INSTALLS}}
    commands = command_hazards(text)
    in_prose = topics(prose(text)).get(INSTALLS)
    if commands.get(INSTALLS) or in_prose:
        kept[INSTALLS] = _reason(INSTALLS, commands.get(INSTALLS, []) + (in_prose or []))
    if commands.get(SENDS):
        kept[SENDS] = _reason(SENDS, commands[SENDS] + _found(kept.get(SENDS, "")))
    return kept


def check_draft(body: str) -> list[str]:
    """Why a drafted new skill ``body`` (a whole SKILL.md) is risky: the hazard kinds
    (``DRAFT_REASON_KINDS``, in ``CONTENT_REASONS`` order, each possibly followed by ``": "`` and
    what it found) of the body after its front matter and of its ``description``
    (``draft_description``: the text an agent reads to pick the skill), each read as added to an
    empty skill; preceded by ``FRONT_MATTER_CHANGED`` when the front matter does not hold both
    ``name`` and ``description``, or only ``"change too large to scan: N chars"`` past ``SCAN_LIMIT``.

    ``INSTALLS`` is read differently: installing a project's dependencies (``npm install``, ``git
    fetch``) is an ordinary step of a procedure, running code straight from the network is not. So
    it is read on the ``prose`` (code set aside), and anywhere for code run from the network or a
    pipe (``command_hazards``); ``SENDS`` also for a credential file sent to the network. Empty for
    a plain procedure. Never raises for text input."""
    head = front_matter(body)
    fields = {m.group(1) for m in _DRAFT_FIELD.finditer(head)}
    reasons = [] if fields == {"name", "description"} else [FRONT_MATTER_CHANGED]
    kept: dict[str, str] = {}
    for text in (body[len(head) :], draft_description(body)):
        found = _draft_hazards(text)
        if isinstance(found, str):
            return [*reasons, found]
        for kind, reason in found.items():
            kept[kind] = _reason(kind, [*_found(kept.get(kind, "")), *_found(reason)])
    return reasons + [kept[k] for k in CONTENT_REASONS if k in kept]


def _found(reason: str) -> list[str]:
    """What a reason found (the names after ``": "``, the ``(+N more)`` tail dropped)."""
    _, _, tail = reason.partition(": ")
    tail = re.sub(r" \(\+\d+ more\)$", "", tail)
    return [name for name in tail.split(", ") if name] if tail else []
