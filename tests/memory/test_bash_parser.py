"""The Bash command parser of the memory path (``lakeloop.memory.bash.parser``, ``.scan``).

Accepted forms parse to the right stages, options and virtual paths; hostile or not fully
understood commands that touch the memory path are refused with a one-line reason; commands
that do not touch it (or only read host paths) pass through (None).
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lakeloop.memory.bash.parser import COMMANDS, parse
from lakeloop.memory.bash.scan import touches_memory
from lakeloop.memory.bash.syntax import CommandRefused as Refused
from lakeloop.memory.bash.syntax import Script

HOME = "/home/u"
ROOT = "/home/u/.deeplake/memory"
CWD = "/home/u/proj"


def P(command: str, cwd: str = CWD) -> Script | None:
    return parse(command, root=ROOT, home=HOME, cwd=cwd)


def stage(command: str, k: int = 0, cwd: str = CWD):
    script = P(command, cwd)
    assert script is not None and script.write is None
    return script.stages[k]


def refused(command: str, cwd: str = CWD) -> str:
    with pytest.raises(Refused) as info:
        P(command, cwd)
    reason = info.value.reason
    assert reason and "\n" not in reason
    return reason


# accepted forms -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command, vpaths, display",
    [
        ("cat ~/.deeplake/memory/index.md", ["/index.md"], [ROOT + "/index.md"]),
        ("cat $HOME/.deeplake/memory/index.md", ["/index.md"], [ROOT + "/index.md"]),
        ("cat ${HOME}/.deeplake/memory/index.md", ["/index.md"], [ROOT + "/index.md"]),
        ('cat "$HOME/.deeplake/memory/notes/a b.md"', ["/notes/a b.md"], [ROOT + "/notes/a b.md"]),
        (
            "cat /home/u/.deeplake/memory/sessions/alice/x.jsonl",
            ["/sessions/alice/x.jsonl"],
            [ROOT + "/sessions/alice/x.jsonl"],
        ),
        ("cat ~/.deeplake/memory/./notes//a.md", ["/notes/a.md"], [ROOT + "/./notes//a.md"]),
        ("cat ~/.deeplake/memory/a ~/.deeplake/memory/b", ["/a", "/b"], [ROOT + "/a", ROOT + "/b"]),
        ("cat -- ~/.deeplake/memory/-x", ["/-x"], [ROOT + "/-x"]),
        ("cat ~/.deep''lake/mem\"ory\"/x", ["/x"], [ROOT + "/x"]),
        ("cat ~/.deeplake/memory/notes/a\\ b", ["/notes/a b"], [ROOT + "/notes/a b"]),
        ("cat ~/.deeplake/memory", ["/"], [ROOT]),
    ],
)
def test_cat_operands(command, vpaths, display):
    s = stage(command)
    assert (s.name, s.operands, s.display) == ("cat", vpaths, display)
    assert s.options == {"number": False}


def test_cat_n_and_relative_operands_inside_root():
    assert stage("cat -n ~/.deeplake/memory/x").options == {"number": True}
    s = stage("cat sessions/alice/x.jsonl ./index.md", cwd=ROOT)
    assert s.operands == ["/sessions/alice/x.jsonl", "/index.md"]
    assert s.display == ["sessions/alice/x.jsonl", "./index.md"]
    assert stage("cat x", cwd=ROOT + "/notes").operands == ["/notes/x"]
    assert stage("cat memory/index.md", cwd="/home/u/.deeplake").operands == ["/index.md"]


@pytest.mark.parametrize(
    "command, lines, all_but",
    [
        ("head ~/.deeplake/memory/x", 10, False),
        ("head -n 3 ~/.deeplake/memory/x", 3, False),
        ("head -n3 ~/.deeplake/memory/x", 3, False),
        ("head -3 ~/.deeplake/memory/x", 3, False),
        ("head --lines=7 ~/.deeplake/memory/x", 7, False),
        ("head -n -2 ~/.deeplake/memory/x", 2, True),
        ("head ~/.deeplake/memory/x -n 4", 4, False),
        ("head -n 0 ~/.deeplake/memory/x", 0, False),
    ],
)
def test_head(command, lines, all_but):
    s = stage(command)
    assert (s.name, s.operands, s.options) == ("head", ["/x"], {"lines": lines, "all_but": all_but})


@pytest.mark.parametrize(
    "command, lines, from_start",
    [
        ("tail ~/.deeplake/memory/x", 10, False),
        ("tail -n 3 ~/.deeplake/memory/x", 3, False),
        ("tail -4 ~/.deeplake/memory/x", 4, False),
        ("tail -n +5 ~/.deeplake/memory/x", 5, True),
        ("tail -n+2 ~/.deeplake/memory/x", 2, True),
        ("tail -n -6 ~/.deeplake/memory/x", 6, False),
    ],
)
def test_tail(command, lines, from_start):
    s = stage(command)
    assert (s.name, s.operands, s.options) == ("tail", ["/x"], {"lines": lines, "from_start": from_start})


@pytest.mark.parametrize(
    "flags, expect",
    [
        ("", dict(all=False, almost_all=False, long=False, recursive=False)),
        ("-1", dict(all=False, almost_all=False, long=False, recursive=False)),
        ("-a", dict(all=True, almost_all=False, long=False, recursive=False)),
        ("-A", dict(all=False, almost_all=True, long=False, recursive=False)),
        ("-l", dict(all=False, almost_all=False, long=True, recursive=False)),
        ("-R", dict(all=False, almost_all=False, long=False, recursive=True)),
        ("-laR", dict(all=True, almost_all=False, long=True, recursive=True)),
        ("-la -h", dict(all=True, almost_all=False, long=True, recursive=False)),
    ],
)
def test_ls(flags, expect):
    s = stage(f"ls {flags} ~/.deeplake/memory/sessions/")
    assert s.name == "ls" and s.operands == ["/sessions"] and s.display == [ROOT + "/sessions/"]
    assert {k: s.options[k] for k in expect} == expect


def test_ls_without_operand_lists_the_working_directory_inside_root():
    s = stage("ls", cwd=ROOT + "/sessions")
    assert s.operands == ["/sessions"] and s.options["implicit"]


def G(command: str, k: int = 0, cwd: str = CWD):
    s = stage(command, k, cwd)
    assert s.name == "grep"
    return s, s.options["grep"]


@pytest.mark.parametrize(
    "flags, field, value",
    [
        ("-i", "ignore_case", True),
        ("-y", "ignore_case", True),
        ("--ignore-case", "ignore_case", True),
        ("-n", "line_number", True),
        ("--line-number", "line_number", True),
        ("-l", "files_with_matches", True),
        ("--files-with-matches", "files_with_matches", True),
        ("-c", "count", True),
        ("--count", "count", True),
        ("-w", "word", True),
        ("--word-regexp", "word", True),
        ("-v", "invert", True),
        ("--invert-match", "invert", True),
        ("-F", "mode", "F"),
        ("--fixed-strings", "mode", "F"),
        ("-E", "mode", "E"),
        ("--extended-regexp", "mode", "E"),
        ("-G", "mode", "G"),
        ("", "mode", "G"),
        ("-A 2", "after", 2),
        ("-A2", "after", 2),
        ("--after-context=2", "after", 2),
        ("--after-context 2", "after", 2),
        ("-B 3", "before", 3),
        ("--before-context=3", "before", 3),
        ("-C 4", "before", 4),
        ("-C4", "after", 4),
        ("--context=1", "after", 1),
        ("-5", "before", 5),
        ("-C 1 -A 3", "after", 3),
        ("-A 3 -C 1", "after", 3),
        ("-A 3 -C 1", "before", 1),
        ("-i --no-ignore-case", "ignore_case", False),
        ("-c -l", "count", False),
    ],
)
def test_grep_flags(flags, field, value):
    s, g = G(f"grep {flags} foo ~/.deeplake/memory/x")
    assert getattr(g, field) == value
    assert g.patterns == ("foo",) and s.operands == ["/x"]


def test_grep_combined_and_permuted_flags():
    s, g = G("grep -rni foo ~/.deeplake/memory")
    assert (g.ignore_case, g.line_number, s.options["recursive"], s.operands) == (True, True, True, ["/"])
    s, g = G("grep -rnA2 foo ~/.deeplake/memory/sessions")
    assert (g.after, g.before, g.line_number, g.context_given) == (2, 0, True, True)
    s, g = G("grep foo ~/.deeplake/memory -R -w")
    assert s.options["recursive"] and g.word
    s, g = G("grep -n5 foo ~/.deeplake/memory/x")
    assert (g.line_number, g.before, g.after) == (True, 5, 5)
    s, g = G("grep -e foo -e 'b.r' -r ~/.deeplake/memory")
    assert g.patterns == ("foo", "b.r") and s.operands == ["/"]
    s, g = G("grep -efoo --regexp=bar --regexp baz ~/.deeplake/memory/x")
    assert g.patterns == ("foo", "bar", "baz")
    s, g = G("grep -- -foo ~/.deeplake/memory/x")
    assert g.patterns == ("-foo",)
    s, g = G("grep -e -foo -- ~/.deeplake/memory/-x")
    assert g.patterns == ("-foo",) and s.operands == ["/-x"]
    s, g = G("grep 'a\nb' ~/.deeplake/memory/x")  # a quoted newline: two patterns, as GNU
    assert g.patterns == ("a", "b")
    s, g = G("grep -rn --color=never foo ~/.deeplake/memory")
    assert g.line_number


def test_grep_filename_quiet_and_messages_options():
    assert G("grep -h foo ~/.deeplake/memory/x")[0].options["filename"] is False
    assert G("grep -H foo ~/.deeplake/memory/x")[0].options["filename"] is True
    assert G("grep --no-filename foo ~/.deeplake/memory/x")[0].options["filename"] is False
    assert G("grep foo ~/.deeplake/memory/x")[0].options["filename"] is None
    s = G("grep -qs foo ~/.deeplake/memory/x")[0]
    assert s.options["quiet"] and s.options["no_messages"] and not s.options["grep"].context_given
    assert G("grep --quiet foo ~/.deeplake/memory/x")[0].options["quiet"]
    assert G("grep --silent foo ~/.deeplake/memory/x")[0].options["quiet"]
    assert G("grep -A0 foo ~/.deeplake/memory/x")[1].context_given


def test_grep_quoted_pattern_keeps_glob_and_dollar_characters():
    _, g = G("grep -rE 'fo+[0-9]*$' ~/.deeplake/memory")
    assert g.patterns == ("fo+[0-9]*$",) and g.mode == "E"
    _, g = G('grep -r "a.*b$" ~/.deeplake/memory')
    assert g.patterns == ("a.*b$",)
    _, g = G('grep -r "\\$HOME" ~/.deeplake/memory')
    assert g.patterns == ("$HOME",)


def test_grep_recursive_without_operand_searches_cwd_inside_root():
    s, _ = G("grep -rn foo", cwd=ROOT + "/sessions")
    assert s.operands == ["/sessions"] and s.display == [""]


@pytest.mark.parametrize(
    "flags, expect",
    [
        ("", (True, True, False, True)),
        ("-l", (True, False, False, False)),
        ("-w", (False, True, False, False)),
        ("-c", (False, False, False, True)),
        ("-m", (False, False, True, False)),
        ("-lw", (True, True, False, False)),
        ("--lines", (True, False, False, False)),
        ("--bytes --words", (False, True, False, True)),
    ],
)
def test_wc(flags, expect):
    s = stage(f"wc {flags} ~/.deeplake/memory/index.md")
    assert (s.options["lines"], s.options["words"], s.options["chars"], s.options["bytes"]) == expect


@pytest.mark.parametrize(
    "command, tests, maxdepth, mindepth",
    [
        ("find ~/.deeplake/memory", [], None, 0),
        ("find ~/.deeplake/memory -name '*.md'", [("name", "*.md")], None, 0),
        ('find ~/.deeplake/memory -iname "SKILL*" -type f', [("iname", "SKILL*"), ("type", "f")], None, 0),
        ("find ~/.deeplake/memory -type d", [("type", "d")], None, 0),
        ("find ~/.deeplake/memory -maxdepth 2 -mindepth 1 -name x -print", [("name", "x")], 2, 1),
    ],
)
def test_find(command, tests, maxdepth, mindepth):
    s = stage(command)
    assert s.name == "find" and s.operands == ["/"] and s.display == [ROOT]
    assert s.options == {"tests": tests, "maxdepth": maxdepth, "mindepth": mindepth}


def test_find_several_starts_and_cwd_default():
    s = stage("find ~/.deeplake/memory/sessions ~/.deeplake/memory/skills/ -type f")
    assert s.operands == ["/sessions", "/skills"] and s.display == [ROOT + "/sessions", ROOT + "/skills/"]
    s = stage("find -name x", cwd=ROOT + "/notes")
    assert s.operands == ["/notes"] and s.display == ["."]


@pytest.mark.parametrize(
    "command, words, newline",
    [
        ("echo ~/.deeplake/memory", [ROOT], True),
        ("echo -n look in ~/.deeplake/memory", ["look", "in", ROOT], False),
        ("echo -- ~/.deeplake/memory", ["--", ROOT], True),
        ("echo -x ~/.deeplake/memory", ["-x", ROOT], True),
        ("echo -nE 'a  b' ~/.deeplake/memory", ["a  b", ROOT], False),
        ('echo "$" ~/.deeplake/memory', ["$", ROOT], True),
    ],
)
def test_echo(command, words, newline):
    s = stage(command)
    assert (s.name, s.operands, s.options) == ("echo", words, {"newline": newline})


def test_pipelines():
    script = P("grep -rn foo ~/.deeplake/memory | head -3")
    assert [s.name for s in script.stages] == ["grep", "head"]
    assert script.stages[1].operands == [] and script.stages[1].options["lines"] == 3
    script = P("cat ~/.deeplake/memory/x | grep -c y | wc -l")
    assert [s.name for s in script.stages] == ["cat", "grep", "wc"]
    assert script.stages[1].options["grep"].count
    script = P("ls ~/.deeplake/memory/sessions | wc -l")
    assert [s.name for s in script.stages] == ["ls", "wc"]
    script = P("echo ~/.deeplake/memory|tail -n 1|cat")
    assert [s.name for s in script.stages] == ["echo", "tail", "cat"]
    script = P("cat <<'EOF' | grep -c x\nx ~/.deeplake/memory\nEOF")
    assert script.stdin == "x ~/.deeplake/memory\n" and script.stages[0].operands == []


@pytest.mark.parametrize(
    "command, op, vpath, text",
    [
        ("echo hello world > ~/.deeplake/memory/notes/a.md", ">", "/notes/a.md", "hello world\n"),
        ("echo 'hello   world' >> ~/.deeplake/memory/notes/a.md", ">>", "/notes/a.md", "hello   world\n"),
        ("echo -n hi >>~/.deeplake/memory/todo", ">>", "/todo", "hi"),
        ("> ~/.deeplake/memory/notes/a.md echo x", ">", "/notes/a.md", "x\n"),
        ("echo >> ~/.deeplake/memory/notes/a.md", ">>", "/notes/a.md", "\n"),
        ('echo "it\'s $ fine" > "$HOME/.deeplake/memory/notes/q.md"', ">", "/notes/q.md", "it's $ fine\n"),
        (
            "cat > ~/.deeplake/memory/notes/b.md <<'EOF'\nline $1 `x`\n  two\nEOF",
            ">",
            "/notes/b.md",
            "line $1 `x`\n  two\n",
        ),
        ("cat <<'EOF' > ~/.deeplake/memory/notes/b.md\nA\nEOF\n", ">", "/notes/b.md", "A\n"),
        ("cat >> ~/.deeplake/memory/notes/b.md <<EOF\nplain \\\\ text\nEOF", ">>", "/notes/b.md", "plain \\ text\n"),
        ('cat > ~/.deeplake/memory/notes/b.md <<-"END"\n\t\tindented\n\tEND', ">", "/notes/b.md", "indented\n"),
        ("cat > ~/.deeplake/memory/notes/b.md <<EOF\nEOF", ">", "/notes/b.md", ""),
        ("echo 'two\nlines' > ~/.deeplake/memory/notes/c.md", ">", "/notes/c.md", "two\nlines\n"),
        ("echo x > notes/d.md", ">", "/notes/d.md", "x\n"),
    ],
)
def test_writes(command, op, vpath, text):
    script = P(command, cwd=ROOT if "notes/d" in command else CWD)
    assert script is not None and script.write is not None
    assert (script.write.op, script.write.vpath, script.write.text) == (op, vpath, text)
    assert len(script.stages) == 1


@pytest.mark.parametrize(
    "target",
    [
        "index.md",
        "sessions/alice/x.jsonl",
        "sessions/new",
        "skills/s--a/SKILL.md",
        "skills",
        "sessions",
        "",
        "notes/",
        "outcomes/s--a/u.json",
    ],
)
def test_generated_paths_are_read_only(target):
    reason = refused(f"echo x >> ~/.deeplake/memory/{target}")
    assert "read-only" in reason and "/notes/" in reason


def test_unquoted_heredoc_expanding_is_refused():
    assert "quote the delimiter" in refused("cat > ~/.deeplake/memory/notes/a <<EOF\n$(id)\nEOF")
    assert "quote the delimiter" in refused("cat > ~/.deeplake/memory/notes/a <<EOF\n`id`\nEOF")
    assert "quote the delimiter" in refused("cat > ~/.deeplake/memory/notes/a <<EOF\n$HOME\nEOF")


# refusals --------------------------------------------------------------------------------------------
HOSTILE = [
    # command substitution, both kinds, and expansions
    "cat $(echo ~/.deeplake/memory/index.md)",
    "cat `echo ~/.deeplake/memory/index.md`",
    "$(echo ~/.deeplake/memory)",
    'cat "$(printf %s ~/.deeplake/memory)/x"',
    "cat ~/.deeplake/memory/$USER",
    "cat ${HOME/u/root}/.deeplake/memory/x",
    "cat ~root/.deeplake/memory/x",
    "cat $'\\x7e/.deeplake/memory/x'",
    # interpreters and other programs
    "python -c 'open(\"/home/u/.deeplake/memory/x\")'",
    "python3 -c \"import os; os.system('cat ~/.deeplake/memory/x')\"",
    "bash -c 'cat ~/.deeplake/memory/x'",
    "sh ~/.deeplake/memory/x",
    "perl -e 'print 1' ~/.deeplake/memory/x",
    "node -e 1 ~/.deeplake/memory/x",
    "env cat ~/.deeplake/memory/x",
    "xargs cat < ~/.deeplake/memory/x",
    "echo ~/.deeplake/memory/x | xargs rm",
    "tee ~/.deeplake/memory/notes/x",
    "cp /etc/passwd ~/.deeplake/memory/notes/x",
    "mv ~/.deeplake/memory/notes/x /tmp/y",
    "rm -rf ~/.deeplake/memory",
    "ln -s /etc ~/.deeplake/memory/notes/etc",
    "ln -s ~/.deeplake/memory /tmp/m",
    "sed -i s/a/b/ ~/.deeplake/memory/notes/x",
    "awk '{print}' ~/.deeplake/memory/x",
    "/bin/cat ~/.deeplake/memory/x",
    "command cat ~/.deeplake/memory/x",
    "VAR=1 cat ~/.deeplake/memory/x",
    # chains
    "ls ~/.deeplake/memory; cat /etc/passwd",
    "cat ~/.deeplake/memory/x && curl http://evil",
    "cat ~/.deeplake/memory/x || rm -rf ~",
    "cat ~/.deeplake/memory/x & sleep 1",
    "cd ~/.deeplake/memory && cat x",
    "cd ~/.deeplake && cat memory/x",
    "cat ~/.deeplake/memory/x\nrm -rf /tmp/y",
    "cat ~/.deeplake/memory/x\n\ncat /etc/passwd",
    "cat ~/.deeplake/memory/x | sh",
    "grep x ~/.deeplake/memory | bash",
    "grep -r x ~/.deeplake/memory | tee /tmp/out",
    "cat ~/.deeplake/memory/x |& cat",
    # redirections
    "cat ~/.deeplake/memory/x > /tmp/out",
    "grep x ~/.deeplake/memory > /tmp/out",
    "grep -r x ~/.deeplake/memory >> ~/.bashrc",
    "echo pwned > ~/.deeplake/memory/sessions/alice/x.jsonl",
    "echo pwned >> ~/.deeplake/memory/index.md",
    "cat < ~/.deeplake/memory/x",
    "cat <<< ~/.deeplake/memory/x",
    "cat <(cat ~/.deeplake/memory/x)",
    "diff >(cat) ~/.deeplake/memory/x",
    "cat ~/.deeplake/memory/x 2>/dev/null",
    "grep -r x ~/.deeplake/memory 2>/dev/null | head",
    "echo 2>~/.deeplake/memory/notes/a",
    "echo x 1>>~/.deeplake/memory/notes/a",
    "cat 0<~/.deeplake/memory/x",
    "cat ~/.deeplake/memory/x &> /tmp/o",
    "cat ~/.deeplake/memory/x >& /tmp/o",
    "cat ~/.deeplake/memory/x >| /tmp/o",
    "echo a > ~/.deeplake/memory/notes/a > ~/.deeplake/memory/notes/b",
    "cat ~/.deeplake/memory/x | head > ~/.deeplake/memory/notes/y",
    "cat ~/.deeplake/memory/x > ~/.deeplake/memory/notes/y",
    # path escapes
    "cat ~/.deeplake/memory/../credentials.json",
    "ls ~/.deeplake/memory/sessions/../../..",
    "cat ~/.deeplake/memory/notes/../../credentials.json",
    "echo x > ~/.deeplake/memory/../credentials.json",
    "cat $HOME/.deeplake/memory/../credentials.json",
    "cat ~/.deeplake/memory/x /etc/passwd",
    "cat /etc/shadow ~/.deeplake/memory/x",
    "grep -r root /etc ~/.deeplake/memory",
    "ls ~/.deeplake/mem*",
    "ls ~/.deeplake/memory/*",
    "cat ~/.deeplake/memory/sessions/*/x.jsonl",
    "cat ~/.deeplake/memory/x?",
    "cat ~/.deeplake/memory/[a]",
    "cat '/home/u/.deeplake/memory/*'",
    "ls /home/u/.deeplake/memory/{a,b}",
    "ls ~/.deeplake/{memory,x}",
    "cat ~/.deeplake/mem*/../credentials.json",
    "cat ~/.DeepLake/Memory/x",
    "cat ~/.deeplake\u2215memory/x",
    "cat ~/.deeplake\uff0fmemory/x",
    "cat ~/.deeplake/\u200bmemory/x",
    "cat ~/.deeplake/memory/x\x00/etc/passwd",
    "cat ~/.deeplake/memory/x\x1b[2J",
    "cat ~/.deeplake/memory/x\r",
    "cat ~/.deeplake/memory/" + "a" * 70000,
    'cat "$HOME/.deeplake/memory/a\nb" /etc/passwd',
    "cat ~/.deeplake/memory/" + "b" * 5000 + " /etc/passwd",
    "cat /etc/" + "c" * 5000 + " ~/.deeplake/memory/x",
    "echo '" + "'\"'\"'" * 40 + "' ; cat ~/.deeplake/memory/x",
    'bash -c "bash -c \'bash -c \\"cat ~/.deeplake/memory/x\\"\'"',
    "rm -rf ~/.deep''lake/mem\"ory\"",
    "cat ~/.deep\\lake/memory/../credentials.json",
    # find and grep options
    "find ~/.deeplake/memory -exec cat {} \\;",
    "find ~/.deeplake/memory -name x -exec rm '{}' +",
    "find ~/.deeplake/memory -delete",
    "find ~/.deeplake/memory -fprint /tmp/x",
    "find ~/.deeplake/memory -name x -o -name y",
    "find ~/.deeplake/memory -newer /etc/passwd",
    "grep --include='*.md' -r x ~/.deeplake/memory",
    "grep -P 'x' ~/.deeplake/memory/x",
    "grep -f /etc/passwd ~/.deeplake/memory/x",
    "grep -o x ~/.deeplake/memory/x",
    "grep --incl=x -r y ~/.deeplake/memory",
    "grep -r x ~/.deeplake/memory --color=always",
    "ls --color=always ~/.deeplake/memory",
    "tail -f ~/.deeplake/memory/x",
    "tail -1 ~/.deeplake/memory/x ~/.deeplake/memory/y",
    "grep -E -F x ~/.deeplake/memory/x",
    "head -c 10 ~/.deeplake/memory/x",
    "wc -L ~/.deeplake/memory/x",
    "cat -A ~/.deeplake/memory/x",
    "echo -e '\\x41' > ~/.deeplake/memory/notes/a",
    # heredocs, subshells, groups, comments
    "cat > ~/.deeplake/memory/notes/a <<EOF\n$(id)\nEOF",
    "cat > ~/.deeplake/memory/notes/a <<EOF\nx\nEOF\nrm -rf ~",
    "cat > ~/.deeplake/memory/notes/a <<EOF\nno end",
    "cat > ~/.deeplake/memory/notes/a <<EOF <<EOG\nx\nEOF\ny\nEOG",
    "(cat ~/.deeplake/memory/x)",
    "{ cat ~/.deeplake/memory/x; }",
    "! cat ~/.deeplake/memory/x",
    "cat ~/.deeplake/memory/x # comment",
    "cat ~/.deeplake/memory/x 'unterminated",
    "cat ~/.deeplake/memory/x \\",
    "cat - ~/.deeplake/memory/x",
    "cat ~/.deeplake/memory/x | grep -r y",
    "cat ~/.deeplake/memory/x | grep y ~/.deeplake/memory/z",
    "cat ~/.deeplake/memory/x | ls",
    "| cat ~/.deeplake/memory/x",
]


@pytest.mark.parametrize("command", HOSTILE, ids=lambda c: repr(c)[:60])
def test_hostile_commands_are_refused(command):
    reason = refused(command)
    assert len(reason) < 1200


def test_hostile_list_is_long_enough():
    assert len(HOSTILE) >= 45


def test_refusals_say_what_to_do():
    assert "grep -rn TERM " + ROOT in refused("cat ~/.deeplake/memory/x; ls")
    assert "read-only" in refused("rm -rf ~/.deeplake/memory")
    assert "quote" in refused("grep -r foo* ~/.deeplake/memory")
    assert "find accepts" in refused("find ~/.deeplake/memory -size +1k")
    assert "grep accepts" in refused("grep -x a ~/.deeplake/memory/x")
    assert "host" in refused("cat ~/.deeplake/memory/x /etc/passwd")
    assert "drop it" in refused("ls ~/.deeplake/memory 2>/dev/null")


def test_relative_paths_in_cwd_inside_root_cannot_escape():
    refused("cat ../../.bashrc", cwd=ROOT + "/notes")
    refused("cat ..", cwd=ROOT)
    refused("git status", cwd=ROOT)  # cwd inside the root: every command is ours
    refused("cat", cwd=ROOT)
    refused("grep x", cwd=ROOT)
    refused("ls . /etc", cwd=ROOT)
    assert P("ls /etc", cwd=ROOT) is None  # fully understood, host paths only


# pass-through ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        "ls -la",
        "git status",
        "grep -r foo src/",
        "cat README.md | head",
        "echo $PATH",
        "ls *.py",
        "find . -name '*.md'",
        "python -c 'print(1)'",
        "cat ~/.bashrc",
        "ls */*",
        "rm -rf build; make",
        "echo memory > /tmp/memory",
    ],
)
def test_commands_not_touching_memory_pass_through(command):
    assert not touches_memory(command, ROOT, HOME, cwd=CWD)
    assert P(command) is None


@pytest.mark.parametrize(
    "command",
    [
        "grep -rn '.deeplake/memory' src/",
        'grep -rn ".deeplake/memory" plugin tests | head -20',
        "grep -c ~/.deeplake/memory README.md",
    ],
)
def test_host_only_reads_mentioning_the_path_pass_through(command):
    assert touches_memory(command, ROOT, HOME, cwd=CWD)
    assert P(command) is None


# touches_memory ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        "cat ~/.deeplake/memory",
        "cat $HOME/.deeplake/memory/x",
        "cat ${HOME}/.deeplake/memory",
        "cat /home/u/.deeplake/memory/x",
        "cat ~/.deep''lake/memory",
        'cat ~/.deeplake/mem"ory"',
        "cat ~/.deep\\lake/memory",
        "cat ~/.DEEPLAKE/Memory",
        "cat ~/.deeplake//memory",
        "cat ~/.deeplake/./memory",
        "cat ~/.deeplake\u2215memory",
        "cat ~/.deeplake\uff0fmemory",
        "ls ~/.deeplake/mem*",
        "ls ~/.dee*/m*",
        "ls ~/.deeplake/{memory,x}",
        "ls ~/.deeplake/{mem,x}ory/x",
        "ls ~/.deeplake/x/../memory",
        "D=~/.deeplake; ls $D/memory",
        "ls ${D}/memory/sessions",
        "ls `pwd`/memory",
        "ls $(dirname x)/mem*",
        "ls ~/.deeplake/memor?",
        "ls ~/.deeplake/[m]emory",
        "ls /home/*/.deeplake/memory",
        "cat ~/.deeplake/mem*/../credentials.json",
        "cat ~/.dee*/x/../mem*",
        "cat $HOME/.deeplake/m?mory/../x",
        "cd ~/.deeplake && cat memory/x",
        "cd ~/.deeplake; cat mem*/x",
        "pushd /home/u/.deeplake; ls ./memory",
    ],
)
def test_touches_memory_catches_obfuscations(command):
    assert touches_memory(command, ROOT, HOME, cwd=CWD)


def test_touches_memory_relative_and_cwd():
    assert touches_memory("cat memory/x", ROOT, HOME, cwd="/home/u/.deeplake")
    assert touches_memory("cat ../memory/x", ROOT, HOME, cwd="/home/u/.deeplake/other")
    assert touches_memory("cat .deeplake/memory/x", ROOT, HOME, cwd=HOME)
    assert touches_memory("ls .*/m*", ROOT, HOME, cwd=HOME)
    assert touches_memory("ls", ROOT, HOME, cwd=ROOT + "/sessions")
    assert not touches_memory("cat memory/x", ROOT, HOME, cwd=CWD)
    assert not touches_memory("ls", ROOT, HOME, cwd=CWD)


def test_custom_root():
    root = "/data/team-mem"
    assert touches_memory("cat /data/team-mem/x", root, HOME)
    assert not touches_memory("cat /data/other", root, HOME)
    script = parse("cat /data/team-mem/x", root=root, home=HOME, cwd=CWD)
    assert script.stages[0].operands == ["/x"]
    with pytest.raises(Refused):
        parse("cat /data/team-mem/../x", root=root, home=HOME, cwd=CWD)


def test_touches_memory_is_cheap():
    commands = [
        "git status",
        "ls -la src/",
        "grep -rn 'def main' plugin/ | head -20",
        "python -m pytest tests/test_cli.py -q -x",
        "find . -name '*.py' | xargs wc -l",
    ]
    start = time.perf_counter()
    for _ in range(2000):
        for c in commands:
            touches_memory(c, ROOT, HOME, cwd=CWD)
    per_call = (time.perf_counter() - start) / (2000 * len(commands))
    assert per_call < 100e-6, per_call


# properties --------------------------------------------------------------------------------------------
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SPECIAL = [
    ";",
    "&",
    "&&",
    "|",
    "||",
    "$(",
    "`",
    "$",
    ">",
    ">>",
    "<",
    "<<",
    "(",
    ")",
    "{",
    "}",
    "*",
    "?",
    "[",
    "..",
    "/",
    "~",
    "'",
    '"',
    "\\",
    "\n",
    " ",
    "\t",
    "#",
    "!",
    "=",
    "-",
    "\x00",
    "\u2215",
    "EOF",
]
WORDS = [
    "cat",
    "grep",
    "ls",
    "echo",
    "head",
    "rm",
    "sh",
    "-r",
    "-n",
    "x",
    "~/.deeplake/memory",
    ROOT,
    "/etc/passwd",
    "/tmp/out",
    "notes/a",
    "sessions",
]


@PROPERTY
@given(st.lists(st.sampled_from(SPECIAL + WORDS), min_size=1, max_size=12).map("".join))
def test_parse_never_crashes_and_never_lets_memory_escape(command):
    """Any command: either refused, passed through (then it reads no memory path and writes
    nothing), or a script whose stages are known commands on virtual paths."""
    try:
        script = P(command)
    except Refused as exc:
        assert exc.reason and "\n" not in exc.reason
        return
    if script is None:
        return
    assert all(s.name in COMMANDS for s in script.stages)
    for s in script.stages:
        if s.name != "echo":
            assert all(p.startswith("/") and ".." not in p.split("/") for p in s.operands)
    if script.write is not None:
        assert not script.write.vpath.startswith(("/sessions", "/skills", "/index.md"))


def test_cd_elsewhere_does_not_touch():
    for command in ["cd src && cat README.md", "cd .. && ls u", "cd /tmp; ls home", "cd build && make"]:
        assert not touches_memory(command, ROOT, HOME, cwd=CWD), command


def test_the_roots_parent_is_checked_a_file_beside_the_root_passes_and_the_parent_is_refused():
    """``~/.deeplake`` contains the root: a recursive read of it would read the memory path, so
    it is refused; a host file beside the root (``credentials.json``) is not the memory path."""
    assert touches_memory("ls ~/.deeplake", ROOT, HOME, cwd=CWD)
    with pytest.raises(Refused, match="contains the memory path"):
        parse("grep -r token ~/.deeplake", root=ROOT, home=HOME, cwd=CWD)
    assert parse("cat ~/.deeplake/credentials.json", root=ROOT, home=HOME, cwd=CWD) is None
