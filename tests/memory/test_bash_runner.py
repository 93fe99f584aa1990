"""The tiny shell of the memory path (``lakeloop.memory.bash.runner``) against the real GNU tools.

A tree is built from ``MemoryRecord``s and materialised under ``tmp/.deeplake/memory``; every
command runs twice: through ``parse`` -> ``plan`` -> a reference store answer (the
``MemoryQuery`` contract, narrowing included) -> ``Tree`` -> ``run``, and with bash and GNU
coreutils/grep/findutils (LC_ALL=C.UTF-8, HOME=tmp) on the materialised tree. Output (stdout
and stderr in one stream) and exit status must be identical. GNU walks directories in
directory order, the shell in sorted order: recursive greps are compared against GNU grep
given the sorted file list, finds after sorting GNU's lines into pre-order.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakeloop.memory.bash import runner as shell
from lakeloop.memory.bash.parser import parse
from lakeloop.memory.grep import GrepOptions, narrowing_literals
from lakeloop.memory.tree import LINE_LIMIT, Tree
from lakeloop.store.memory_types import DOC, ENTRY, LINE, SESSION, SKILL, MemoryQuery, MemoryRecord


# the tree ------------------------------------------------------------------------------------------
def _session(user: str, sid: str, texts: list[str]) -> list[MemoryRecord]:
    path = f"/sessions/{user}/{user}_acme_default_{sid}.jsonl"
    return [
        MemoryRecord(
            LINE,
            path,
            json.dumps({"id": f"{sid}-{i}", "type": "user_message", "content": t}, ensure_ascii=False),
            line=i,
        )
        for i, t in enumerate(texts, 1)
    ]


S1 = [
    "please deploy the postgres migration",
    "running tests",
    "tests ok",
    "Deploy failed: timeout",
    "retry the deploy",
    "naïve café résumé",
    "tab\there",
    "foo bar foobar",
    "FOO",
    "x" * 300,
    "the end",
    "deploy again",
    "ok",
]
S2 = ["hello", "grep for Foo here", "nothing", "deploy", "deployment done", "a  b   c", "ſtop ıdea", "last"]
S3 = ["bob writes", "migration 42 failed", "fix migration", "--", "done", "unicode \u3000 space\u00a0nbsp"]
RECORDS = (
    _session("alice", "s1", S1)
    + _session("alice", "s2", S2)
    + _session("bob", "s3", S3)
    + [
        MemoryRecord(
            DOC,
            "/skills/db-migrate--alice/SKILL.md",
            "---\nname: db-migrate\ndescription: run postgres migrations\n---\n\nSteps:\n1. deploy\n",
            author="alice",
            date="2026-11-20T10:00:00Z",
        ),
        MemoryRecord(DOC, "/notes/todo.md", "- deploy friday\n- review migration\n\n- foo\n", author="bob"),
        MemoryRecord(DOC, "/notes/deep/x.md", "deep note about postgres\n"),
        MemoryRecord(DOC, "/notes/a b.md", "spaced name\n"),
        MemoryRecord(DOC, "/summary.md", "summary without final newline: deploy"),
        MemoryRecord(DOC, "/.hidden.md", "hidden deploy\n"),
        MemoryRecord(
            SESSION,
            "/sessions/alice/alice_acme_default_s1.jsonl",
            "please deploy",
            author="alice",
            project="shop",
            date="2026-11-20T10:00:00Z",
        ),
        MemoryRecord(
            SESSION,
            "/sessions/bob/bob_acme_default_s3.jsonl",
            "bob writes",
            author="bob",
            project="shop",
            date="2026-11-20T11:00:00Z",
        ),
        MemoryRecord(
            SKILL,
            "/skills/db-migrate--alice/SKILL.md",
            "run postgres migrations",
            author="alice",
            line=2,
            date="2026-11-20T10:00:00Z",
        ),
    ]
)
FULL = Tree(RECORDS, index=True)
ENV = {"LC_ALL": "C.UTF-8", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(home, root): the tree materialised at ``home/.deeplake/memory``."""
    home = tmp_path_factory.mktemp("home")
    root = home / ".deeplake" / "memory"
    for vpath in FULL.files_under("/"):
        f = root / vpath.lstrip("/")
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(FULL.text(vpath).encode("utf-8"))
    return str(home), str(root)


def store_answer(query: MemoryQuery, records: list[MemoryRecord] = RECORDS) -> list[MemoryRecord]:
    """A reference store: what ``MemoryQuery``'s contract says the answer holds."""

    def under(path: str) -> bool:
        return any(path.startswith(p) if p.endswith("/") else path == p for p in query.prefixes)

    def folded(s: str) -> str:
        return "".join(c.lower() if c.isascii() else c for c in s)

    out: list[MemoryRecord] = []
    files = {r.path for r in records if r.kind in (LINE, DOC)}
    if query.listing:
        out += [MemoryRecord(ENTRY, p) for p in sorted(files) if under(p)]
    if query.content:
        out += [r for r in records if r.kind == DOC and under(r.path)]
        by_path: dict[str, list[MemoryRecord]] = {}
        for r in records:
            if r.kind == LINE and under(r.path):
                by_path.setdefault(r.path, []).append(r)
        for _path, lines in by_path.items():
            if query.literals is None:
                out += lines
                continue
            lits = [folded(x) for x in query.literals]
            keep: set[int] = set()
            b, a = query.context
            for r in lines:
                if any(x in folded(r.text) for x in lits):
                    keep.update(range(r.line - b, r.line + a + 1))
            out += [r for r in lines if r.line in keep]
    if query.index:
        out += [r for r in records if r.kind in (SESSION, SKILL)]
    return out


def ours(command: str, world, max_bytes: int = 30000, records=RECORDS, cwd: str | None = None) -> tuple[str, int]:
    home, root = world
    script = parse(command, root=root, home=home, cwd=cwd or home)
    assert script is not None, command
    query = shell.plan(script)
    tree = Tree(store_answer(query, records), index=query.index)
    result = shell.run(script, tree, root=root, max_bytes=max_bytes)
    assert result.note is None
    return result.stdout, result.status


def gnu(argv_or_command, world, cwd: str | None = None) -> tuple[str, int]:
    home, _ = world
    args = ["bash", "-c", argv_or_command] if isinstance(argv_or_command, str) else argv_or_command
    proc = subprocess.run(
        args, cwd=cwd or home, env={**ENV, "HOME": home}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    return proc.stdout.decode("utf-8"), proc.returncode


def same(command: str, world, cwd: str | None = None) -> str:
    got = ours(command, world, cwd=cwd)
    want = gnu(command, world, cwd=cwd)
    assert got == want, command
    return got[0]


# single commands compared with GNU ------------------------------------------------------------------
M = "~/.deeplake/memory"
F1 = f"{M}/sessions/alice/alice_acme_default_s1.jsonl"
F2 = f"{M}/sessions/alice/alice_acme_default_s2.jsonl"
F3 = f"{M}/sessions/bob/bob_acme_default_s3.jsonl"


@pytest.mark.parametrize(
    "command",
    [
        f"cat {M}/index.md",
        f"cat {F1}",
        f"cat {F1} {M}/summary.md {F3}",
        f"cat {M}/summary.md {M}/notes/todo.md",
        f"cat {M}/nope.md",
        f"cat {M}/notes",
        f"cat {M}/notes/ {F3}",
        f"cat {M}/notes/todo.md/",
        f"cat {M}/notes/'a b.md'",
        f"cat {M}/sessions/alice/missing.jsonl",
        f"cat -n {M}/summary.md {M}/notes/todo.md",
        f"cat -n {F2}",
        f"cat {M}/.hidden.md",
        f"cat {M} {M}/skills/db-migrate--alice/SKILL.md",
    ],
)
def test_cat(command, world):
    same(command, world)


@pytest.mark.parametrize(
    "command",
    [
        f"head {F1}",
        f"head -n 3 {F1}",
        f"head -3 {F2}",
        f"head -n -4 {F1}",
        f"head -n 0 {F1}",
        f"head -n 100 {F3}",
        f"head -n 2 {F1} {F3}",
        f"head -n 1 {M}/summary.md {F3}",
        f"head {M}/nope {M}/notes {F3}",
        f"head --lines=2 {M}/skills/db-migrate--alice/SKILL.md",
        f"tail {F1}",
        f"tail -n 3 {F1}",
        f"tail -4 {F2}",
        f"tail -n +5 {F1}",
        f"tail -n +1 {F3}",
        f"tail -n 0 {F3}",
        f"tail -n 2 {F1} {M}/summary.md {F3}",
        f"tail -n 1 {M}/nope {M}/notes {F3}",
        f"tail -n +100 {F3}",
        f"tail {M}/skills/db-migrate--alice/SKILL.md {M}/.hidden.md",
        f"tail -n 0 {M}/nope {F1} {F3}",
        f"tail -n +0 {F3}",
        f"head -n 2 {M}/notes/todo.md/ {F3}",
        f"tail -2 {M}/summary.md",
    ],
)
def test_head_tail(command, world):
    same(command, world)


@pytest.mark.parametrize(
    "command",
    [
        f"ls {M}",
        f"ls {M}/",
        f"ls -1 {M}/sessions",
        f"ls -a {M}",
        f"ls -A {M}",
        f"ls -R {M}",
        f"ls -Ra {M}/notes",
        f"ls -RA {M}/",
        f"ls {M}/sessions/alice",
        f"ls {F1}",
        f"ls {M}/nope",
        f"ls {M}/notes {M}/nope {F1} {M}/skills",
        f"ls {M}/sessions/ {M}/skills",
        f"ls -R {M}/sessions//",
        f"ls {M}/notes/todo.md {M}/summary.md",
        f"ls -1R {M}/notes/deep",
    ],
)
def test_ls(command, world):
    same(command, world)


def test_ls_long_format_is_documented_not_gnu(world):
    out, status = ours(f"ls -l {M}/notes", world)
    assert status == 0
    assert out.splitlines() == [
        "-r--r--r-- 1 lakeloop lakeloop ? ? a b.md",
        "dr-xr-xr-x 2 lakeloop lakeloop ? ? deep",
        "-r--r--r-- 1 lakeloop lakeloop ? ? todo.md",
    ]
    out, _ = ours(f"ls -la {M}/notes/todo.md", world)
    assert out.startswith("-r--r--r-- 1 lakeloop lakeloop ")
    home, root = world
    tree = Tree(RECORDS, index=True)
    script = parse(f"ls -l {M}/notes/todo.md {M}/skills/db-migrate--alice", root=root, home=home, cwd=home)
    out = shell.run(script, tree, root=root).stdout
    assert out.splitlines()[0] == f"-r--r--r-- 1 lakeloop lakeloop 42 ? {root}/notes/todo.md"
    assert out.splitlines()[3] == "-r--r--r-- 1 lakeloop lakeloop 80 2026-11-20 10:00 SKILL.md"


@pytest.mark.parametrize(
    "command",
    [
        f"wc {F1}",
        f"wc -l {F1}",
        f"wc -w {F2}",
        f"wc -c {F3}",
        f"wc -m {F1}",
        f"wc -lw {F1}",
        f"wc -lc {F3}",
        f"wc {F1} {F2} {F3}",
        f"wc -l {F1} {F2}",
        f"wc -l {M}/summary.md",
        f"wc {M}/summary.md {M}/notes/todo.md",
        f"wc {M}/nope {F1}",
        f"wc -l {M}/nope",
        f"wc {M}/notes {F1}",
        f"wc -w {M}/notes",
        f"wc -m {F3} {F2}",
        f"wc --lines --words {M}/index.md",
        f"wc -w {M}/notes/todo.md/ {F1}",
        f"wc {M}/notes/todo.md/ {F1} {F2}",
    ],
)
def test_wc(command, world):
    same(command, world)


def _preorder(text: str) -> list[str]:
    return sorted(text.splitlines(), key=lambda p: p.rstrip("/").split("/"))


@pytest.mark.parametrize(
    "command",
    [
        f"find {M}",
        f"find {M}/",
        f"find {M} -name '*.md'",
        f"find {M} -type f",
        f"find {M} -type d",
        f"find {M} -iname 'skill*'",
        f"find {M} -name 'alice*' -type f",
        f"find {M}/sessions -maxdepth 1",
        f"find {M} -mindepth 2 -maxdepth 2 -type d",
        f"find {M} -name memory",
        f"find {M}/notes -name '[a-d]*'",
        f"find {M}/notes -name '[!a-d]*'",
        f"find {M} -name '*.jsonl' -print",
        f"find {M}/sessions//alice",
        f"find {F1}",
        f"find {F1} -type d",
        f"find {M}/nope",
        f"find {M}/notes/deep {M}/nope {M}/skills",
        f"find {M} -name '.*'",
        f"find {M} -name 'a\\ b.md'",
        f"find {M} -name '*[[:digit:]].jsonl'",
    ],
)
def test_find(command, world):
    got = ours(command, world)
    want = gnu(command, world)
    assert got[1] == want[1]
    if "nope" in command:
        assert got[0] == want[0]  # one start per group: order is exact
    else:
        assert got[0].splitlines() == _preorder(want[0])


@pytest.mark.parametrize(
    "command",
    [
        "echo hello ~/.deeplake/memory",
        "echo -n ~/.deeplake/memory",
        "echo -- -x ~/.deeplake/memory",
        "echo 'a  b' \"c $ d\" ~/.deeplake/memory",
        "echo ~/.deeplake/memory -n",
        "echo 'two\nlines' ~/.deeplake/memory",
    ],
)
def test_echo(command, world):
    same(command, world)


# grep ----------------------------------------------------------------------------------------------
GREP_FILE_CASES = [
    "deploy",
    "-i deploy",
    "-n deploy",
    "-c deploy",
    "-l deploy",
    "-v deploy",
    "-w foo",
    "-iw foo",
    "-F 'a  b'",
    "-E 'migr(ation|ate)'",
    "-G 'dep\\(loy\\)'",
    "-e foo -e tests",
    "-A 1 deploy",
    "-B 2 deploy",
    "-C 1 deploy",
    "-A0 deploy",
    "-nA1 -B1 deploy",
    "-2 tests",
    "-H deploy",
    "-h deploy",
    "-vc deploy",
    "-cv foo",
    "-lv deploy",
    "-i 'CAFÉ'",
    "-i 'stop'",
    "-i 'idea'",
    "'^\"'",
    "'\\bdeploy\\b'",
    "-q deploy",
    "-q nomatch",
    "nomatch",
    "-n ''",
    "-v ''",
    "-n 'FOO\ntests'",
    "-c -e ok -e 'x\ntab'",
    "-E 'x{300}'",
    "-w 'b'",
    "-F -e '--' -e done",
]


@pytest.mark.parametrize("flags", GREP_FILE_CASES)
def test_grep_one_and_several_files(flags, world):
    same(f"grep {flags} {F1}", world)
    same(f"grep {flags} {F1} {F3} {M}/notes/todo.md {M}/summary.md", world)


@pytest.mark.parametrize(
    "flags, pattern",
    [
        ("", "deploy"),
        ("-n", "deploy"),
        ("-i", "deploy"),
        ("-l", "deploy"),
        ("-c", "deploy"),
        ("-h", "deploy"),
        ("-v", "deploy"),
        ("-w", "foo"),
        ("-n -C1", "deploy"),
        ("-nA1", "migration"),
        ("-c", "nomatch"),
        ("-lv", "x"),
        ("-iF", "CAFÉ"),
        ("-E", "fail(ed)?"),
        ("-n -e tests -e", "Foo"),
        ("-n", "nomatch"),
        ("-A0", "deploy"),
        ("-ni", "DEPLOY"),
        ("-B1 -h", "ok"),
    ],
)
@pytest.mark.parametrize("where", ["", "/sessions", "/sessions/alice/", "/notes"])
def test_grep_recursive_matches_gnu_on_the_sorted_file_list(flags, pattern, where, world):
    home, root = world
    got = ours(f"grep -r {flags} '{pattern}' {M}{where}", world)
    files = [root + p for p in FULL.files_under(where or "/")]
    name = [] if "-h" in flags.split() else ["-H"]
    want = gnu(["grep", *name, *flags.split(), pattern, *files], world)
    assert got == want


def test_grep_recursive_sets_with_filename_like_gnu(world):
    # -r on a single file operand: no file name; on a directory: names, as GNU prints them
    same(f"grep -r deploy {F1}", world)
    same(f"grep -r migration {M}/sessions/bob", world)
    same(f"grep -r migration {M}/sessions/bob/", world)
    same(f"grep -rh migration {M}/sessions/bob//", world)
    same(f"grep -rc migration {M}/sessions/bob {F1}", world)
    # no operand: the working directory, names relative
    home, root = world
    same("grep -rn migration", world, cwd=root + "/sessions/bob")
    same("grep -rn migration .", world, cwd=root + "/sessions/bob")
    same("grep -n migration bob_acme_default_s3.jsonl", world, cwd=root + "/sessions/bob")


@pytest.mark.parametrize(
    "command",
    [
        f"grep deploy {M}/nope",
        f"grep deploy {F1} {M}/nope {F3}",
        f"grep -s deploy {M}/nope {F3}",
        f"grep deploy {M}/notes",
        f"grep -n deploy {M}/notes {M}/notes/todo.md",
        f"grep -q deploy {M}/nope {F1}",
        f"grep -q deploy {F1} {M}/nope",
        f"grep -qs nomatch {M}/nope {F1}",
        f"grep -A1 deploy {F1} {M}/nope {F2}",
        f"grep 'a\\(b' {F1}",
        f"grep -E 'a(b' {F1}",
        f"grep -E 'a{{1' {F1}",
        f"grep '[[:foo:]]' {F1}",
        f"grep -c deploy {M}/nope {F1}",
        f"grep -l deploy {F1} {M}/notes/todo.md/",
        f"grep -c x {F3} {M}/notes",
        f"grep -cs deploy {M}/notes {M}/nope",
        f"grep -c deploy {M}/notes/todo.md/",
        f"grep -cv deploy {M}/notes",
        f"grep -lc deploy {M}/notes {F1}",
        f"grep -q deploy {M}/notes",
        f"grep -r deploy {M}/sessions/nobody",
        f"grep -rv deploy {M}/sessions/nobody/ {F3}",
        f"grep -rc deploy {M}/notes/nope.md {M}/summary.md",
    ],
)
def test_grep_errors_and_statuses(command, world):
    same(command, world)


# pipelines -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        f"grep -rn deploy {M}/sessions/bob {F1} | head -3",
        f"cat {F1} | grep -c deploy",
        f"ls {M}/sessions | wc -l",
        f"ls {M}/sessions/alice | wc",
        f"cat {F1} | grep -i deploy | tail -n 2",
        f"head -n 5 {F1} | tail -n 2",
        f"tail -n +3 {F2} | head -2 | cat",
        f"cat {M}/summary.md | wc -c",
        f"cat {M}/summary.md | grep -n deploy",
        f"grep -h deploy {F1} {F2} | grep -v Deploy | wc -w",
        f"echo {M} | grep -c memory",
        f"find {M}/notes/deep | wc -l",
        f"cat {F1} | grep -A1 -n tests",
        f"cat {F1} | grep -H deploy | head -n 1",
        f"cat {F1} | grep -l x",
        f"cat {F1} | head -n -10",
        f"cat {F3} | grep -c nomatch",
        f"cat {F3} | cat -n",
        f"cat {M}/nope | wc -l",
        f"grep deploy {M}/nope {F3} | wc -l",
        f"cat <<'EOF' | grep -c x\nx {M}\ny\nx\nEOF",
        f"cat {F3} <<'EOF' | grep -c migration\nmigration\nEOF",
    ],
)
def test_pipelines(command, world):
    same(command, world)


# the cap -----------------------------------------------------------------------------------------------
def _big_records(n: int = 3000) -> list[MemoryRecord]:
    return _session("carol", "big", [f"line {i} deploy " + "z" * (i % 50) for i in range(1, n + 1)])


@pytest.mark.parametrize(
    "command",
    [
        f"cat {M}/sessions/carol/carol_acme_default_big.jsonl",
        f"grep -rn deploy {M}/sessions",
        f"grep -rn deploy {M}/sessions | cat",
    ],
)
def test_output_is_capped_with_a_line_saying_what_was_left_out(command, world):
    home, root = world
    records = _big_records()
    full, status = ours(command, world, max_bytes=10_000_000, records=records)
    got, status2 = ours(command, world, max_bytes=5000, records=records)
    assert status == status2 == 0
    lines = full.splitlines(keepends=True)
    *kept, cap = got.splitlines(keepends=True)
    assert "".join(kept) == "".join(lines[: len(kept)])
    assert len(got) <= 5000 and len("".join(kept)) + len(lines[len(kept)]) > 5000 - 100
    assert cap == f"[lakeloop: output capped at 5000 bytes; {len(lines) - len(kept)} more lines left out]\n"


def test_a_single_line_over_the_cap_is_cut(world):
    records = _session("carol", "wide", ["w" * 50_000, "short"])
    got, _ = ours(f"cat {M}/sessions/carol/carol_acme_default_wide.jsonl", world, max_bytes=1000, records=records)
    first, cap = got.splitlines()
    assert len(got) <= 1000 and first.startswith('{"id": "wide-1"')
    assert cap == "[lakeloop: output capped at 1000 bytes; 2 more lines left out]"


def test_output_under_the_cap_is_unchanged(world):
    out, _ = ours(f"cat {F1}", world, max_bytes=len(FULL.text(F1.replace(M, ""))))
    assert "lakeloop" not in out


# writes --------------------------------------------------------------------------------------------------
def _write(command: str, world, records=RECORDS) -> shell.ShellResult:
    home, root = world
    script = parse(command, root=root, home=home, cwd=home)
    query = shell.plan(script)
    return shell.run(script, Tree(store_answer(query, records), index=query.index), root=root)


def test_echo_replace_and_append_give_the_full_new_note(world):
    res = _write(f"echo new text > {M}/notes/todo.md", world)
    assert (res.stdout, res.status, res.note) == ("", 0, ("/notes/todo.md", "new text\n"))
    res = _write(f"echo 'more  text' >> {M}/notes/todo.md", world)
    assert res.note == ("/notes/todo.md", "- deploy friday\n- review migration\n\n- foo\nmore  text\n")
    res = _write(f"echo -n tail >> {M}/summary.md", world)
    assert res.note == ("/summary.md", "summary without final newline: deploytail")
    res = _write(f"echo -n first >> {M}/notes/new.md", world)
    assert res.note == ("/notes/new.md", "first")


def test_heredoc_writes(world):
    res = _write(f"cat > {M}/notes/h.md <<'EOF'\n# Title\n$not expanded `x`\nEOF", world)
    assert res.note == ("/notes/h.md", "# Title\n$not expanded `x`\n")
    res = _write(f"cat >> {M}/notes/deep/x.md <<EOF\nsecond line\nEOF\n", world)
    assert res.note == ("/notes/deep/x.md", "deep note about postgres\nsecond line\n")


def test_write_matches_what_bash_would_write(world, tmp_path):
    home, root = world
    scratch = tmp_path / "h"
    (scratch / ".deeplake" / "memory" / "notes").mkdir(parents=True)
    target = scratch / ".deeplake" / "memory" / "notes" / "todo.md"
    target.write_text(FULL.text("/notes/todo.md"))
    for command in [
        f"echo -n 'a  b' \"c\" >> {M}/notes/todo.md",
        f"echo x y >> {M}/notes/todo.md",
        f"cat >> {M}/notes/todo.md <<'EOF'\n\tkeep $tabs\nEOF",
        f"cat >> {M}/notes/todo.md <<-EOF\n\tstrip\n\tEOF",
    ]:
        before = target.read_text()
        records = [r for r in RECORDS if r.path != "/notes/todo.md"] + [MemoryRecord(DOC, "/notes/todo.md", before)]
        res = _write(command, (str(scratch), str(scratch / ".deeplake" / "memory")), records)
        subprocess.run(["bash", "-c", command], cwd=scratch, env={**ENV, "HOME": str(scratch)}, check=True)
        assert res.note == ("/notes/todo.md", target.read_text()), command


def test_append_to_a_directory_fails_like_bash(world):
    res = _write(f"echo x >> {M}/notes/deep", world)
    assert res.note is None and res.status == 1
    assert res.stdout == f"bash: {world[1]}/notes/deep: Is a directory\n"


# plan ------------------------------------------------------------------------------------------------------
def _plan(command: str, cwd: str = "/home/u") -> MemoryQuery:
    script = parse(command, root="/home/u/.deeplake/memory", home="/home/u", cwd=cwd)
    return shell.plan(script)


def test_plan_for_listings():
    assert _plan(f"ls {M}") == MemoryQuery(prefixes=("/",), listing=True, index=True)
    assert _plan(f"ls -R {M}/sessions/alice/") == MemoryQuery(
        prefixes=("/sessions/alice", "/sessions/alice/"), listing=True
    )
    assert _plan(f"find {M}/notes {M}/skills -name x") == MemoryQuery(
        prefixes=("/notes", "/notes/", "/skills", "/skills/"), listing=True
    )
    assert _plan(f"ls {M}/sessions | wc -l") == MemoryQuery(prefixes=("/sessions", "/sessions/"), listing=True)


def test_plan_for_reads():
    assert _plan(f"cat {M}/index.md") == MemoryQuery(prefixes=("/index.md",), content=True, index=True)
    assert _plan(f"head -3 {F1} {M}/notes/a.md") == MemoryQuery(
        prefixes=("/sessions/alice/alice_acme_default_s1.jsonl", "/notes/a.md", "/notes/a.md/"), content=True
    )
    assert _plan(f"wc -l {M}/sessions/alice {M}/sessions") == MemoryQuery(content=True)
    assert _plan(f"cat {M}/sessions/alice {M}/sessions").empty
    assert _plan(f"tail {F1} | grep x") == MemoryQuery(
        prefixes=("/sessions/alice/alice_acme_default_s1.jsonl",), content=True
    )


def test_plan_for_grep_narrows_with_literals_and_context():
    q = _plan(f"grep -rn deploy {M}")
    assert q == MemoryQuery(
        prefixes=("/",), content=True, literals=("deploy",), case_sensitive=True, index=True, limit=LINE_LIMIT
    )
    q = _plan(f"grep -rn -B2 -A 3 -e deploy -e 'migr(ation)' -E {M}/sessions {M}/notes/todo.md | head")
    assert q.prefixes == ("/sessions", "/sessions/", "/notes/todo.md", "/notes/todo.md/")
    assert q.literals == narrowing_literals(GrepOptions(("deploy", "migr(ation)"), mode="E"))
    assert q.literals and q.context == (2, 3) and q.content and q.listing
    q = _plan(f"grep -rc deploy {M}")
    assert q.listing and q.literals == ("deploy",) and q.context == (0, 0)
    q = _plan(f"grep -rl -C5 deploy {M}/sessions")
    assert q.context == (0, 0) and q.listing
    q = _plan(f"grep -rv deploy {M}/sessions")  # no index: GNU's selection runs inside the store
    assert q.literals is None and q.matcher is not None and q.listing and q.content
    assert q.matcher("nothing here") and not q.matcher("deploy now")
    q = _plan(f"grep -r '.*' {M}/sessions")
    assert q.literals is None and q.matcher is not None and q.limit == LINE_LIMIT
    assert _plan(f"grep -r 'a\\(' {M}").empty


def test_plan_for_writes_echo_and_heredocs():
    assert _plan(f"echo x > {M}/notes/a.md").empty
    appended = MemoryQuery(prefixes=("/notes/a.md", "/notes/a.md/"), content=True)
    assert _plan(f"echo x >> {M}/notes/a.md") == appended
    assert _plan(f"cat >> {M}/notes/a.md <<'EOF'\nx\nEOF") == appended
    assert _plan(f"echo {M} | grep m").empty
    assert _plan(f"cat <<'EOF' | grep m\n{M}\nEOF").empty


def test_plan_uses_cwd_inside_the_root():
    assert _plan("grep -rn x", cwd="/home/u/.deeplake/memory/sessions").prefixes == ("/sessions", "/sessions/")
    assert _plan("ls", cwd="/home/u/.deeplake/memory").prefixes == ("/",)


# property: grep on narrowed trees equals GNU -------------------------------------------------------------
WORDS = ["deploy", "Deploy", "migration", "tests", "foo", "FOO", "café", "ok", "the", "a", "b", "x"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(
    pattern=st.sampled_from(WORDS + ["dep.oy", "mig[a-z]*ion", "^\\{", "fo\\+", "te*sts"]),
    flags=st.lists(
        st.sampled_from(["-i", "-n", "-c", "-l", "-w", "-v", "-A1", "-B2", "-C1", "-h", "-F"]), max_size=4, unique=True
    ),
    where=st.sampled_from(["/sessions/alice", "/sessions", "/notes", ""]),
)
def test_property_recursive_grep_over_narrowed_tree_equals_gnu(pattern, flags, where, world):
    home, root = world
    command = f"grep -r {' '.join(flags)} -e '{pattern}' {M}{where}"
    got = ours(command, world)
    files = [root + p for p in FULL.files_under(where or "/")]
    name = [] if "-h" in flags else ["-H"]
    want = gnu(["grep", *flags, *name, "-e", pattern, "--", *files], world)
    assert got == want, command
