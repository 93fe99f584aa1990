"""lakeloop.memory.grep against the real GNU grep (3.8, ``LC_ALL=C.UTF-8``).

Every comparison materialises the same files under a temporary directory, runs
``/usr/bin/grep`` on them and compares stdout and exit status with ``grep()`` given the
absolute paths as display names. Without GNU grep the tests are skipped, unless ``CI``
is set (then they fail).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakeloop import records
from lakeloop.memory.grep import (
    GrepOptions,
    GrepResult,
    PatternError,
    compile_matcher,
    grep,
    narrowing_literals,
)

GREP = shutil.which("grep") or "/usr/bin/grep"
ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8"}


def _gnu_available() -> str | None:
    try:
        out = subprocess.run([GREP, "--version"], capture_output=True, text=True, env=ENV).stdout
    except OSError as exc:
        return f"no grep: {exc}"
    return None if out.startswith("grep (GNU grep)") else f"{GREP} is not GNU grep"


_MISSING = _gnu_available()


@pytest.fixture(autouse=True)
def _need_gnu_grep() -> None:
    if _MISSING:
        if os.environ.get("CI"):
            pytest.fail(f"{_MISSING} (CI is set, so this is an error)", pytrace=False)
        pytest.skip(_MISSING)


PROPERTY = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# ---------------------------------------------------------------------------
# helpers


def gnu_args(opts: GrepOptions) -> list[str]:
    """GNU grep's command line for ``opts`` (without the file operands)."""
    args = ["grep", "-" + opts.mode]
    for flag, on in (
        ("-i", opts.ignore_case),
        ("-w", opts.word),
        ("-v", opts.invert),
        ("-n", opts.line_number),
        ("-c", opts.count),
        ("-l", opts.files_with_matches),
    ):
        if on:
            args.append(flag)
    if opts.before or opts.context_given:
        args += ["-B", str(opts.before)]
    if opts.after or opts.context_given:
        args += ["-A", str(opts.after)]
    args.append("-H" if opts.with_filename else "-h")
    for p in opts.patterns:
        args += ["-e", p]
    return args


def materialise(root: Path, files: list[list[str]]) -> list[str]:
    paths = []
    for i, lines in enumerate(files):
        path = root / f"f{i}.txt"
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
        paths.append(str(path))
    return paths


def run_gnu(opts: GrepOptions, paths: list[str]) -> tuple[int, list[str], str]:
    proc = subprocess.run(gnu_args(opts) + ["--"] + paths, executable=GREP, capture_output=True, env=ENV)
    out = proc.stdout.decode("utf-8")
    return proc.returncode, out.split("\n")[:-1] if out else [], proc.stderr.decode("utf-8")


def ours(opts: GrepOptions, paths: list[str], files: list[list[str]], max_lines: int | None = None) -> GrepResult:
    return grep(opts, [(p, list(enumerate(lines, 1))) for p, lines in zip(paths, files)], max_lines=max_lines)


def first_error(stderr: str) -> str:
    """GNU's first stderr line that is not a warning."""
    return next(line for line in stderr.splitlines() if not line.startswith("grep: warning:"))


def assert_same(opts: GrepOptions, files: list[list[str]], root: Path | None = None) -> GrepResult:
    """Run both and assert the same stdout and exit status (or the same pattern error)."""
    with tempfile.TemporaryDirectory() as tmp:
        base = root or Path(tmp)
        paths = materialise(base, files)
        code, out, err = run_gnu(opts, paths)
        mine = ours(opts, paths, files)
    if code == 2:
        assert mine.status == 2, (opts, err, mine)
        assert mine.error == first_error(err), (opts, err)
        with pytest.raises(PatternError) as exc:
            compile_matcher(opts)
        assert str(exc.value) == first_error(err)
        return mine
    assert (mine.lines, mine.status) == (out, code), (opts, files, err)
    assert mine.total_lines == len(out)
    return mine


CORPUS = [
    "foo bar",
    "Foo-Bar_baz",
    "foobar",
    "bar foo",
    "",
    "a  b",
    "x -ab",
    "abab",
    "aa",
    "a.b",
    "a\\b",
    "a]b",
    "x$y",
    "(a)",
    "a|b",
    "a{2}",
    "{1}a",
    "*a",
    "+a",
    "^a",
    "é É e",
    "this THıS thiſ",
    "ı I i İ",
    "k K K",
    "tab\there",
    "1}a",
    "xa",
    "ab",
    "the cat sat",
    "concatenate",
    "_under_",
    "end.",
    "  lead",
    "ÀÉÎ õü",
]

# ---------------------------------------------------------------------------
# 1. examples: every flag and construct against GNU grep

BRE = [
    "foo",
    "o*",
    "*a",
    "^*a",
    "a**",
    "\\(ab\\)*",
    "\\(ab\\)\\1",
    "\\(a\\)\\(b\\)\\2",
    "a\\{2\\}",
    "a\\{,3\\}",
    "a\\{1,\\}",
    "\\{1\\}a",
    "a{2}",
    "a\\|b",
    "foo\\|^bar",
    "a\\+",
    "a\\?b",
    "a+",
    "a?b",
    "[]a]",
    "[^]a]",
    "[a\\]",
    "[[:alpha:]]",
    "[[:upper:]]",
    "[[:lower:]]b",
    "[[:digit:][:space:]]",
    "[[:punct:]]",
    "[^[:alnum:] ]",
    "[a-c]x*",
    "[[=a=]]",
    "[[.-.]]",
    "\\<foo",
    "bar\\>",
    "\\bcat",
    "\\Bat\\b",
    "\\w\\W",
    "\\s\\S",
    "^$",
    "^a",
    "b$",
    "x$*",
    "^^a",
    "a^",
    "\\(^a\\)",
    "x\\|^a",
    "$a",
    "a$b",
    ".",
    "",
    "\\.",
    "a.b",
    "a\\.b",
    "\\`a",
    "b\\'",
    "é",
    "[é]",
    "[^é ]",
    "\\(a\\|b\\)*c",
    "\\(\\)",
    "ı",
    "[i]",
    "k",
    "[a-z]",
    "[A-Z]",
    "\\<*a",
]
ERE = [
    "foo|bar",
    "(ab)+",
    "(a)\\1",
    "a{2}",
    "a{,3}",
    "a{1,2}{2}",
    "{1}a",
    "*a",
    "+a",
    "^*a",
    "a|*b",
    "(*a)",
    "()",
    "a{,}",
    "x$*",
    "^^a",
    "\\<*a",
    "(-a)?",
    "a|",
    "|a",
    "[[:alpha:]]+",
    "\\w+\\s",
    "(foo|bar)$",
    "^(a|b)",
    "a{1",
    "a\\{1",
    "a)",
    "\\(a\\)",
    "a\\|b",
    "(a|ab)(c|bcd)",
    "c(a|b)*t",
    "\\bsat\\b",
    ".?a",
    "é+",
    "(é|e)",
]


@pytest.mark.parametrize("mode,pattern", [("G", p) for p in BRE] + [("E", p) for p in ERE])
@pytest.mark.parametrize(
    "flags",
    [
        {},
        {"ignore_case": True},
        {"word": True},
        {"invert": True, "count": True},
        {"word": True, "ignore_case": True},
    ],
    ids=["plain", "i", "w", "vc", "wi"],
)
def test_constructs_match_gnu(mode: str, pattern: str, flags: dict) -> None:
    opts = GrepOptions(patterns=(pattern,), mode=mode, line_number=True, **flags)
    assert_same(opts, [CORPUS])


@pytest.mark.parametrize(
    "patterns,mode",
    [
        (("foo", "bar"), "G"),
        (("", "x"), "E"),
        (("a\nb",), "G"),
        (("fo+", "\\(a\\)\\1"), "G"),
        (("", "-a"), "G"),
        (("", "(-a)"), "E"),
        (("", ")"), "E"),
        (("foo", "foo"), "F"),
        (("a.b", "x$"), "F"),
        (("",), "F"),
        (("this", "É"), "F"),
        (("ab", "a"), "F"),
        (("ok", "a\\"), "G"),
        (("a\\", "ok"), "G"),
        (("ok", "a\\.b"), "G"),
        (("a)", "b"), "E"),
        (("ok", "\\(a"), "G"),
        (("(a", "b"), "E"),
        (("ok", "[a"), "G"),
    ],
)
@pytest.mark.parametrize(
    "flags", [{}, {"word": True}, {"ignore_case": True, "word": True}, {"invert": True}], ids=["plain", "w", "iw", "v"]
)
def test_several_patterns_match_gnu(patterns: tuple, mode: str, flags: dict) -> None:
    opts = GrepOptions(patterns=patterns, mode=mode, line_number=True, **flags)
    assert_same(opts, [CORPUS])


FILES = [
    ["a", "b", "a", "c", "d", "a"],
    ["x", "a"],
    [],
    ["no", "match", "here"],
    ["a", "x", "x", "x", "x", "a", "x"],
]


@pytest.mark.parametrize(
    "flags",
    [
        {"line_number": True},
        {"count": True},
        {"files_with_matches": True},
        {"files_with_matches": True, "count": True},
        {"invert": True, "count": True},
        {"invert": True, "files_with_matches": True},
        {"after": 1},
        {"before": 1},
        {"before": 1, "after": 1, "line_number": True},
        {"before": 2, "after": 2},
        {"context_given": True},
        {"context_given": True, "after": 1},
        {"invert": True, "before": 1, "line_number": True},
        {"count": True, "after": 2},
    ],
)
@pytest.mark.parametrize("with_filename", [True, False])
def test_output_shapes_match_gnu(flags: dict, with_filename: bool) -> None:
    """-n, -c (with 0 counts), -l, -A/-B/-C with `--` also between files, -A 0."""
    files = FILES if with_filename else FILES[:1]
    opts = GrepOptions(patterns=("a",), with_filename=with_filename, **flags)
    assert_same(opts, files)


def test_dash_C_is_before_and_after() -> None:
    """-C N as GNU reads it equals before=after=N."""
    files = FILES[:2]
    with tempfile.TemporaryDirectory() as tmp:
        paths = materialise(Path(tmp), files)
        proc = subprocess.run(
            ["grep", "-nH", "-C", "1", "-e", "a", "--", *paths],
            executable=GREP,
            capture_output=True,
            text=True,
            env=ENV,
        )
        mine = ours(GrepOptions(patterns=("a",), line_number=True, with_filename=True, before=1, after=1), paths, files)
    assert mine.lines == proc.stdout.splitlines() and "--" in mine.lines


def test_compile_matcher_honours_invert() -> None:
    assert compile_matcher(GrepOptions(patterns=("a",)))("xa") is True
    assert compile_matcher(GrepOptions(patterns=("a",), invert=True))("xa") is False
    with pytest.raises(ValueError):
        compile_matcher(GrepOptions(patterns=("a",), mode="P"))


def test_vc_with_empty_pattern_prints_nothing() -> None:
    """GNU exits 1 at once for `grep -v ''`, even with -c."""
    mine = assert_same(GrepOptions(patterns=("",), invert=True, count=True), [["a", ""]])
    assert mine.lines == [] and mine.status == 1
    assert_same(GrepOptions(patterns=("", ""), invert=True, count=True), [["a", ""]])
    assert_same(GrepOptions(patterns=("",), invert=True, word=True, count=True), [["a", ""]])


def test_recursive_order_independent(tmp_path: Path) -> None:
    """grep -r over a directory equals grep() over its files once both are sorted by file."""
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    contents = {
        "a.txt": ["foo", "bar"],
        "sub/b.txt": ["x foo y", "Foo"],
        "sub/c.txt": ["none"],
        "d.txt": ["foofoo", "", "foo"],
    }
    for name, lines in contents.items():
        (root / name).write_text("".join(line + "\n" for line in lines))
    names = sorted(contents)
    files = [(str(root / n), list(enumerate(contents[n], 1))) for n in names]
    for extra, opts in (
        (["-n"], GrepOptions(patterns=("foo",), line_number=True)),
        (["-ic"], GrepOptions(patterns=("foo",), ignore_case=True, count=True)),
        (["-l"], GrepOptions(patterns=("foo",), files_with_matches=True)),
    ):
        proc = subprocess.run(
            ["grep", "-r", *extra, "-e", "foo", str(root)], executable=GREP, capture_output=True, text=True, env=ENV
        )
        mine = grep(records.replace(opts, with_filename=True), files)
        gnu = proc.stdout.splitlines()
        key = lambda line: line.split(":", 1)[0]  # noqa: E731 - stable sort by file name
        assert sorted(gnu, key=key) == mine.lines
        assert mine.status == proc.returncode


def test_max_lines_keeps_counting() -> None:
    files = [(f"f{i}", [(n, "hit" if n % 2 else "miss") for n in range(1, 11)]) for i in range(3)]
    opts = GrepOptions(patterns=("hit",), with_filename=True, line_number=True, before=1)
    full = grep(opts, files)
    cut = grep(opts, files, max_lines=4)
    assert cut.lines == full.lines[:4]
    assert cut.total_lines == full.total_lines == len(full.lines) > 4
    assert cut.matched_files == ["f0", "f1", "f2"] and cut.status == 0


def test_sparse_context_and_separators() -> None:
    """Absent lines are never printed as context; a numbering gap makes a `--`."""
    lines = [(1, "x"), (2, "hit"), (3, "y"), (9, "z"), (10, "hit"), (11, "w"), (20, "v")]
    res = grep(GrepOptions(patterns=("hit",), line_number=True, before=2, after=2), [("f", lines)])
    assert res.lines == ["1-x", "2:hit", "3-y", "--", "9-z", "10:hit", "11-w"]


def test_binary_file_like_gnu(tmp_path: Path) -> None:
    """A file holding a NUL: GNU prints no line of it, only a stderr notice; -c still counts."""
    path = tmp_path / "bin.txt"
    path.write_bytes(b"abc\nx\0y\nabd\n")
    lines = list(enumerate(["abc", "x\0y", "abd"], 1))
    for flags, extra in (({}, []), ({"count": True}, ["-c"])):
        proc = subprocess.run(["grep", *extra, "ab", str(path)], executable=GREP, capture_output=True, env=ENV)
        mine = grep(GrepOptions(patterns=("ab",), **flags), [(str(path), lines)])
        assert mine.lines == proc.stdout.decode().splitlines()
        assert mine.status == proc.returncode == 0
        assert mine.messages == proc.stderr.decode().splitlines()


# ---------------------------------------------------------------------------
# 5. pattern errors carry GNU's message

BAD = [
    ("G", "\\(a"),
    ("E", "(a"),
    ("G", "a\\)"),
    ("G", "[a"),
    ("E", "[[:foo:]]"),
    ("G", "[z-a]"),
    ("G", "[[.ab.]]"),
    ("G", "[[=ab=]]"),
    ("G", "[:alpha:]"),
    ("G", "a\\"),
    ("G", "\\1"),
    ("E", "(a)\\2"),
    ("E", "(a\\1)"),
    ("E", "(a)|\\1"),
    ("G", "a\\{1"),
    ("G", "a\\{x\\}"),
    ("G", "a\\{\\}"),
    ("E", "a{}"),
    ("E", "a{2,1}"),
    ("E", "a{99999}"),
    ("E", "a{1,2,3}"),
    ("G", "[a-é]"),
    ("G", "[]"),
    ("G", "[^]"),
    ("G", "[a-b-c]"),
    ("G", "[[:alpha:]-z]"),
    ("E", "(+)"),
    ("E", "(^*)"),
    ("G", "[[:alpha:]"),
]


@pytest.mark.parametrize("mode,pattern", BAD)
def test_pattern_errors_carry_gnu_message(mode: str, pattern: str) -> None:
    opts = GrepOptions(patterns=(pattern,), mode=mode)
    with tempfile.TemporaryDirectory() as tmp:
        paths = materialise(Path(tmp), [["ok"]])
        code, _, err = run_gnu(opts, paths)
    assert code == 2
    with pytest.raises(PatternError) as exc:
        compile_matcher(opts)
    assert str(exc.value) == first_error(err)
    res = grep(opts, [("f", [(1, "ok")])])
    assert (res.status, res.error, res.lines) == (2, first_error(err), [])
    assert narrowing_literals(opts) is None


def test_case_insensitive_range_is_upper_cased_like_glibc() -> None:
    """glibc upper-cases the pattern with -i: [Z-a] becomes [Z-A] (an error), [a-Z] is fine."""
    assert_same(GrepOptions(patterns=("[Z-a]",), ignore_case=True), [["a"]])
    assert_same(GrepOptions(patterns=("[a-Z]",), ignore_case=True), [["B", "b", "_"]])


# ---------------------------------------------------------------------------
# grammar for the property tests

ALPHABET = "abcAB.-_ é"
LINE_ALPHABET = "abcAB.-_ éÉx"


@st.composite
def regexes(draw, ere: bool, depth: int = 0) -> str:
    """A valid BRE/ERE over ALPHABET: literals, ., brackets, \\w, groups, alternation,
    * + ? {m,n}, ^ $ \\<. (No anchor inside a repeated group: glibc fails to match those,
    e.g. `(\\<c)+` against "cc".)"""

    def atom() -> tuple[str, bool]:
        kind = draw(st.sampled_from(["lit"] * 6 + ["dot", "bracket", "class", "group"]))
        if kind == "lit":
            ch = draw(st.sampled_from(ALPHABET))
            return ("\\." if ch == "." and draw(st.booleans()) else ch), False
        if kind == "dot":
            return ".", False
        if kind == "bracket":
            items = draw(
                st.lists(
                    st.sampled_from(
                        ["a", "b", "A", "é", ".", "_", " ", "a-c", "[:alpha:]", "[:space:]", "[:upper:]", "[:punct:]"]
                    ),
                    min_size=1,
                    max_size=3,
                )
            )
            body = "".join(items)
            neg = "^" if draw(st.booleans()) else ""
            return "[" + neg + body + "-" * draw(st.booleans()) + "]", False
        if kind == "class":
            return draw(st.sampled_from(["\\w", "\\W", "\\s", "\\S"])), False
        if depth >= 2:
            return "a", False
        inner = draw(regexes(ere, depth + 1))
        anchored = any(a in inner for a in ("^", "$", "\\<"))
        return (("(" + inner + ")") if ere else ("\\(" + inner + "\\)")), anchored

    def piece() -> str:
        text, anchored = atom()
        if anchored:
            return text
        quant = draw(st.sampled_from(["", "", "", "*", "+", "?", "{2}", "{1,2}", "{,2}"]))
        if quant and not ere:
            quant = {"*": "*", "+": "\\+", "?": "\\?"}.get(quant) or "\\" + quant[:-1] + "\\}"
        return text + quant

    def branch() -> str:
        text = draw(st.sampled_from(["", "", "", "", "^", "\\<"]))
        text += "".join(piece() for _ in range(draw(st.integers(0, 3))))
        return text + draw(st.sampled_from(["", "", "", "$"]))

    branches = [branch() for _ in range(draw(st.integers(1, 2)))]
    return ("|" if ere else "\\|").join(branches)


@st.composite
def invocations(draw, allow_invert: bool = True):
    mode = draw(st.sampled_from("GGEEF"))
    if mode == "F":
        pats = draw(st.lists(st.text(st.sampled_from(ALPHABET), max_size=3), min_size=1, max_size=2))
    else:
        pats = draw(st.lists(regexes(mode == "E"), min_size=1, max_size=2))
    files = draw(
        st.lists(st.lists(st.text(st.sampled_from(LINE_ALPHABET), max_size=8), max_size=8), min_size=1, max_size=3)
    )
    before, after = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    opts = GrepOptions(
        patterns=tuple(pats),
        mode=mode,
        ignore_case=draw(st.booleans()),
        word=draw(st.booleans()),
        invert=allow_invert and draw(st.integers(0, 4)) == 0,
        line_number=draw(st.booleans()),
        count=draw(st.integers(0, 7)) == 0,
        files_with_matches=draw(st.integers(0, 7)) == 0,
        before=before,
        after=after,
        context_given=draw(st.integers(0, 4)) == 0,
        with_filename=len(files) > 1 or draw(st.booleans()),
    )
    return opts, files


# ---------------------------------------------------------------------------
# 2. property: same output and status as GNU grep


@PROPERTY
@given(invocations())
def test_property_same_as_gnu(case) -> None:
    opts, files = case
    assert_same(opts, files)


# ---------------------------------------------------------------------------
# 3. property: sparse input (only candidates and their neighbours) gives the same output


@PROPERTY
@given(invocations(allow_invert=False))
def test_property_sparse_equals_full(case) -> None:
    opts, files = case
    try:
        selected = compile_matcher(opts)
    except PatternError:
        return
    full, sparse = [], []
    reach = max(opts.before, opts.after)
    for i, lines in enumerate(files):
        numbered = list(enumerate(lines, 1))
        hits = [n for n, text in numbered if selected(text)]
        keep = [(n, t) for n, t in numbered if any(abs(n - h) <= reach for h in hits)]
        full.append((f"f{i}", numbered))
        sparse.append((f"f{i}", keep))
    a, b = grep(opts, full), grep(opts, sparse)
    assert (a.lines, a.status, a.matched_files) == (b.lines, b.status, b.matched_files)


# ---------------------------------------------------------------------------
# 4. property: narrowing_literals is a superset of GNU's selection

WORDS = ["abc", "foo", "bar", "this", "kiss", "miss", "xyz", "ab", "s", "i", "k"]


def _spellings(word: str) -> st.SearchStrategy[str]:
    """``word`` with random case and GNU's -i counterparts (ı for i, ſ for s)."""
    swaps = {"i": ["i", "I", "ı"], "s": ["s", "S", "ſ"], "k": ["k", "K", "K"]}
    return st.tuples(*[st.sampled_from(swaps.get(c, [c, c.upper()])) for c in word]).map("".join)


@st.composite
def literal_regexes(draw, mode: str) -> str:
    ere = mode == "E"
    if mode == "F":
        return draw(st.sampled_from(WORDS + ["a.b", "x y", "é"]))
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        word = draw(st.sampled_from(WORDS))
        kind = draw(st.sampled_from(["plain", "plain", "star", "group", "dot", "alt"]))
        if kind == "star":
            word += "*"
        elif kind == "group":
            word = ("(" + word + ")" if ere else "\\(" + word + "\\)") + (
                draw(st.sampled_from(["", "+", "*"])) if ere else draw(st.sampled_from(["", "*"]))
            )
        elif kind == "dot":
            word += "."
        elif kind == "alt":
            other = draw(st.sampled_from(WORDS))
            word = ("(" + word + "|" + other + ")") if ere else ("\\(" + word + "\\|" + other + "\\)")
        parts.append(word)
    sep = "|" if ere else "\\|"
    return sep.join(parts) if draw(st.integers(0, 3)) == 0 else "".join(parts)


@st.composite
def narrowing_cases(draw):
    mode = draw(st.sampled_from("GEF"))
    pats = tuple(draw(st.lists(literal_regexes(mode), min_size=1, max_size=2)))
    opts = GrepOptions(
        patterns=pats, mode=mode, ignore_case=draw(st.booleans()), word=draw(st.booleans()), line_number=True
    )
    token = st.one_of(st.sampled_from(WORDS).flatmap(_spellings), st.text(st.sampled_from("abé. xyz"), max_size=3))
    lines = draw(st.lists(st.lists(token, max_size=4).map("".join), max_size=8))
    return opts, lines


@PROPERTY
@given(narrowing_cases())
def test_property_narrowing_literals_superset(case) -> None:
    opts, lines = case
    lits = narrowing_literals(opts)
    if lits is None:
        return
    assert all(len(x) >= 3 for x in lits)
    with tempfile.TemporaryDirectory() as tmp:
        paths = materialise(Path(tmp), [lines])
        code, out, _ = run_gnu(opts, paths)
    assert code in (0, 1)
    fold = {ord(c): c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
    for line in out:
        text = line.split(":", 1)[1].translate(fold)
        assert any(x.translate(fold) in text for x in lits), (opts, lits, line)


@pytest.mark.parametrize(
    "opts,expected",
    [
        (GrepOptions(patterns=("foo",), mode="F"), ("foo",)),
        (GrepOptions(patterns=("foo", "ab"), mode="F"), None),
        (GrepOptions(patterns=("foo|barz",), mode="E"), ("foo", "barz")),
        (GrepOptions(patterns=("foo\\|barz",)), ("foo", "barz")),
        (GrepOptions(patterns=("foo", "barz")), ("foo", "barz")),
        (GrepOptions(patterns=("a\\.b\\[c",)), ("a.b[c",)),
        (GrepOptions(patterns=("x.*hello[0-9]+wor",), mode="E"), ("hello",)),
        (GrepOptions(patterns=("(abc)+xy",), mode="E"), ("abc",)),
        (GrepOptions(patterns=("(abc)*xyz",), mode="E"), ("xyz",)),
        (GrepOptions(patterns=("(abc)*xy",), mode="E"), None),
        (GrepOptions(patterns=(".*",)), None),
        (GrepOptions(patterns=("a.b",)), None),
        (GrepOptions(patterns=("",)), None),
        (GrepOptions(patterns=("foo",), invert=True), None),
        (GrepOptions(patterns=("café",)), ("café",)),
        (GrepOptions(patterns=("café",), ignore_case=True), ("caf",)),
        (GrepOptions(patterns=("éé",), ignore_case=True), None),
        (GrepOptions(patterns=("kubernetes",), ignore_case=True), ("kubernetes", "kuberneteſ")),
        (GrepOptions(patterns=("this",), ignore_case=True, mode="F"), ("this", "thiſ", "thıs", "thıſ")),
        (GrepOptions(patterns=("[",)), None),
    ],
)
def test_narrowing_literals_examples(opts: GrepOptions, expected) -> None:
    got = narrowing_literals(opts)
    assert (sorted(got) if got else got) == (sorted(expected) if expected else expected)
