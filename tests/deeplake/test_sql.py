"""SQL text building (the security boundary: the tables API has no bound parameters).

Two halves: exact-output and structural tests of ``literal``, ``ident``, ``like_contains`` and
``jsonb``; then the proof against a real PostgreSQL (the service's dialect) through psycopg in
autocommit mode with no parameters, so the server parses exactly the text lakeloop would send:
whatever the input, the value that comes back is the cleaned input.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from lakeloop.deeplake.sql import clean, ident, in_list, jsonb, like_contains, literal

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Fragments that break naive escaping, mixed with arbitrary text (lone surrogates included).
HOSTILE = [
    "'",
    "''",
    "\\",
    "\\'",
    "'\\",
    "E'",
    "e'\\n",
    "$$",
    "$q$",
    "\x00",
    "\x01",
    "\x08",
    "\x0b",
    "\x1b[31m",
    "\x7f",
    "\n",
    "\r\n",
    "\t",
    "%",
    "_",
    "\\%",
    "\\_",
    "--",
    "/*",
    "*/",
    ";",
    "\ud800",
    "\udfff",
    "\ud83d\ude00",
    "\U0001f600",
    "é",
    "\u2028",
    "\ufeff",
    "'; DROP TABLE canary; --",
    "\\\\'",
]
ANY_CHAR = st.characters(exclude_categories=())  # every code point, surrogates too
any_text = st.text(ANY_CHAR, max_size=40)
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE), any_text), max_size=10).map("".join)

CONTROL_DROPPED = set(range(0x00, 0x09)) | {0x0B, 0x0C} | set(range(0x0E, 0x20)) | {0x7F}


def expected_clean(text: str) -> str:
    """The documented cleaning, written independently: C0 controls and DEL dropped except tab,
    LF and CR; each lone surrogate becomes '?'."""
    out = []
    for ch in text:
        if ord(ch) in CONTROL_DROPPED:
            continue
        out.append("?" if 0xD800 <= ord(ch) <= 0xDFFF else ch)
    return "".join(out)


def cleaned_obj(obj):
    if isinstance(obj, str):
        return expected_clean(obj)
    if isinstance(obj, dict):
        return {expected_clean(k): cleaned_obj(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [cleaned_obj(v) for v in obj]
    return obj


# -- clean ------------------------------------------------------------------------------------------------


@PROPERTY
@given(hostile_text)
def test_clean_drops_controls_keeps_whitespace_and_replaces_surrogates(text):
    """clean() drops NUL, C0 controls and DEL but keeps tab, newline and CR; lone surrogates
    become '?'; the result always encodes as UTF-8."""
    result = clean(text)
    assert result == expected_clean(text)
    result.encode("utf-8")


def test_clean_examples():
    """Concrete cases of the cleaning rule."""
    assert clean("a\x00b\x01c\x1fd\x7fe") == "abcde"
    assert clean("l1\nl2\r\n\tx") == "l1\nl2\r\n\tx"
    assert clean("x\ud800y\udfff") == "x?y?"
    assert clean("\U0001f600 é") == "\U0001f600 é"


# -- literal ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, sql",
    [
        ("plain", "E'plain'"),
        ("it's", "E'it''s'"),
        ("a\\b", "E'a\\\\b'"),
        ("\\'", "E'\\\\'''"),
        ("E'", "E'E'''"),
        ("$$ body $$", "E'$$ body $$'"),
        ("'; DROP TABLE t; --", "E'''; DROP TABLE t; --'"),
        ("nul\x00ctl\x01\x1b[0m\x7fend", "E'nulctl[0mend'"),
        ("two\nlines\r\n\ttab", "E'two\nlines\r\n\ttab'"),
        ("lone \ud800 surrogate", "E'lone ? surrogate'"),
        ("", "E''"),
        (None, "NULL"),
        (True, "TRUE"),
        (False, "FALSE"),
        (0, "0"),
        (-7, "-7"),
        (10**30, str(10**30)),
        (1.5, "1.5"),
        (-2.25e-10, "-2.25e-10"),
    ],
)
def test_literal_exact_text(value, sql):
    """literal(): E'...' with \\ and ' doubled, controls dropped, newlines kept; None, booleans and
    numbers rendered as SQL keywords and numbers."""
    assert literal(value) == sql


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_literal_refuses_non_finite_floats(value):
    """NaN and infinities have no SQL literal: ValueError, not a string that would parse oddly."""
    with pytest.raises(ValueError):
        literal(value)


STRING_LITERAL = re.compile(r"E'(?:[^'\\]|''|\\\\)*'", re.S)


@PROPERTY
@given(hostile_text)
def test_literal_is_always_one_closed_string_token(text):
    """Whatever the input, literal() is exactly one E'...' token: inside it every quote is doubled
    and every backslash doubled, so nothing can end the string early or escape the closing quote."""
    sql = literal(text)
    assert STRING_LITERAL.fullmatch(sql), sql
    assert "\x00" not in sql


def test_literal_of_a_very_long_hostile_string():
    """A 1 MB hostile string gives one closed literal: E'' plus the text with quotes and
    backslashes doubled."""
    text = ("'\\" * 250_000) + ("x" * 500_000)
    sql = literal(text)
    assert len(sql) == 3 + 500_000 * 2 + 500_000
    assert STRING_LITERAL.fullmatch(sql)


def test_in_list():
    """in_list(): a parenthesised list of literals; empty refused (IN () is not SQL)."""
    assert in_list(["a'b", 1, None]) == "(E'a''b', 1, NULL)"
    with pytest.raises(ValueError):
        in_list([])


# -- ident ----------------------------------------------------------------------------------------------------

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@PROPERTY
@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,62}", fullmatch=True))
def test_ident_quotes_valid_names(name):
    """A name matching [A-Za-z_][A-Za-z0-9_]* (up to PostgreSQL's 63 characters) is double-quoted as is."""
    assert ident(name) == f'"{name}"'


@PROPERTY
@given(
    st.one_of(hostile_text, any_text, st.from_regex(r"[A-Za-z0-9_]{1,5}[^A-Za-z0-9_][A-Za-z0-9_]{0,5}", fullmatch=True))
)
def test_ident_refuses_everything_else(name):
    """Anything not matching [A-Za-z_][A-Za-z0-9_]* raises ValueError."""
    assume(not IDENT.fullmatch(name))
    with pytest.raises(ValueError):
        ident(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "1abc",
        "a b",
        'a"b',
        '"sessions"',
        "sessions;",
        "sessions\n",
        "a-b",
        "a.b",
        "séance",
        "ＡＢ",
        "a\x00",
        "x" * 64,
        "DROP TABLE x",
        "\u212a",
    ],
)
def test_ident_refuses_hostile_names(name):
    """Empty, leading digit, spaces, quotes, separators, newlines, non-ASCII letters, NUL and
    names over 63 characters are all refused."""
    with pytest.raises(ValueError):
        ident(name)


@pytest.mark.parametrize("name", [None, 5, b"sessions"])
def test_ident_refuses_non_strings(name):
    """Only str names are accepted."""
    with pytest.raises(ValueError):
        ident(name)


# -- like_contains -------------------------------------------------------------------------------------------


def test_like_contains_escapes_wildcards_and_backslash():
    """%, _ and \\ are escaped (then the literal doubles the backslashes) and ESCAPE '\\' follows."""
    assert like_contains("50%_off\\") == "E'%50\\\\%\\\\_off\\\\\\\\%' ESCAPE '\\'"
    assert like_contains("") == "E'%%' ESCAPE '\\'"
    assert like_contains("it's") == "E'%it''s%' ESCAPE '\\'"


@PROPERTY
@given(hostile_text)
def test_like_contains_always_ends_with_escape_clause(text):
    """Every pattern is one closed literal followed by ESCAPE '\\'."""
    sql = like_contains(text)
    assert sql.endswith(" ESCAPE '\\'")
    assert STRING_LITERAL.fullmatch(sql[: -len(" ESCAPE '\\'")])


# -- against PostgreSQL -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pg(postgres_cluster):
    """An autocommit psycopg connection to a fresh database; statements are sent without parameters."""
    import psycopg

    with psycopg.connect(postgres_cluster.create_database(), autocommit=True) as conn:
        conn.execute("CREATE TABLE canary (x int)")
        yield conn
        assert conn.execute("SELECT count(*) FROM canary").fetchone()[0] == 0  # nothing was dropped


def select(pg, expression: str):
    return pg.execute(f"SELECT {expression}").fetchone()[0]


@PROPERTY
@given(text=hostile_text)
def test_postgres_reads_back_every_literal(pg, text):
    """SELECT literal(s) returns clean(s) for arbitrary text: quotes, backslashes, E', $$, controls,
    surrogates and emoji included."""
    assert select(pg, literal(text)) == expected_clean(text)


def test_postgres_reads_back_a_very_long_hostile_literal(pg):
    """A ~1 MB string of quotes, backslashes, dollars, controls and newlines round-trips."""
    text = "".join(HOSTILE) * 13_000
    assert len(text) > 1_000_000
    assert select(pg, literal(text)) == expected_clean(text)


def test_postgres_reads_back_non_string_literals(pg):
    """NULL, booleans, big integers and floats parse back to the same values."""
    assert select(pg, literal(None)) is None
    assert select(pg, literal(True)) is True and select(pg, literal(False)) is False
    assert select(pg, literal(-(10**30))) == -(10**30)
    assert float(select(pg, literal(-2.25e-10))) == -2.25e-10
    items = in_list(["x", "a'b", None])
    assert select(pg, f"E'a''b' IN {items}") is True


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
    hostile_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(hostile_text, inner, max_size=4)),
    max_leaves=12,
)


@PROPERTY
@given(obj=json_values)
def test_postgres_reads_back_every_jsonb(pg, obj):
    """SELECT jsonb(obj) returns the object with its strings (keys included) cleaned; PostgreSQL's
    jsonb would refuse \\u0000, so controls must be gone before it sees them."""
    assert select(pg, jsonb(obj)) == cleaned_obj(obj)


@st.composite
def hay_and_needle(draw):
    """Half the time the needle is a slice of the haystack, so both outcomes are exercised."""
    alphabet = st.one_of(st.sampled_from(["%", "_", "\\", "'", "a", "A", "\x00", "\n", "\ud800", "?"]), ANY_CHAR)
    hay = draw(st.text(alphabet, max_size=30))
    if hay and draw(st.booleans()):
        start = draw(st.integers(0, len(hay)))
        end = draw(st.integers(start, len(hay)))
        return hay, hay[start:end]
    return hay, draw(st.text(alphabet, max_size=6))


@PROPERTY
@given(pair=hay_and_needle())
def test_postgres_like_contains_matches_exactly_substrings(pg, pair):
    """literal(hay) LIKE like_contains(needle) is true exactly when clean(needle) in clean(hay):
    % _ and \\ in the needle match only themselves."""
    hay, needle = pair
    assert select(pg, f"{literal(hay)} LIKE {like_contains(needle)}") is (clean(needle) in clean(hay))


@pytest.mark.parametrize(
    "hay, needle, found",
    [
        ("100% sure", "0%", True),
        ("100 sure", "0%", False),
        ("a_b", "a_b", True),
        ("axb", "a_b", False),
        ("C:\\dir", "C:\\d", True),
        ("C:dir", "C:\\d", False),
        ("it's", "t's", True),
        ("", "", True),
        ("abc", "", True),
    ],
)
def test_postgres_like_contains_examples(pg, hay, needle, found):
    """Wildcards in the needle are literal characters."""
    assert select(pg, f"{literal(hay)} LIKE {like_contains(needle)}") is found


@PROPERTY
@given(name=st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,62}", fullmatch=True))
def test_postgres_accepts_every_ident_verbatim(pg, name):
    """ident(name) names a column exactly (case kept, reserved words fine): SELECT 1 AS ident(name)."""
    cur = pg.execute(f"SELECT 1 AS {ident(name)}")
    assert cur.description[0].name == name
