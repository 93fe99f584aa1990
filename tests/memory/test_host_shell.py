"""Nothing that touches the memory path reaches the host shell unless it is
one of the read-only forms, played through the REAL hook (``hooks/run PreToolUse``).

Each hostile Bash command is written so that, if any part of it ran, a file whose name holds
``CANARY`` would appear under the test's tmp dir. The hook's answer is then acted on as Claude
Code 2.1.330 does: a deny runs nothing; an allow runs ``updatedInput.command`` with bash in the
project dir; no output (pass through) runs the ORIGINAL command with bash (and is a failure by
itself for these commands). Afterwards no canary may exist, and the marker token of a fake
``~/.deeplake/credentials.json`` may appear nowhere: not in the hook's output, not in what the
command printed, not in any file under the tmp dir (answer files, notes, the store, the log).

Each hostile command is played in two worlds: the memory path virtual (nothing on disk: the
parser's own answers are exercised), and with a decoy copy of ``~/.deeplake/memory`` on disk,
including a symlink to the credentials and a script that touches a canary, to make a pass-through
bite (lakeloop then refuses every memory answer: the root must not exist on disk). The store holds
a session and notes whose text and path are themselves shell code: reading them back must print
them, never run them.

An allowed Bash command must be exactly ``cat -- '<data dir>/memory-answers/<hex>.txt'``
(or ``true`` for an empty answer), optionally followed by ``; exit N``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from lakeloop import paths
from tests.support.hooks import files_holding, pretooluse_payload, run_pretooluse

SID = "5b0c9a51-7d0e-4d43-9a51-0c0ffee0a8e1"
TOKEN = "lk-secret-9f3e7a1c5b2d4e60"
#: Session text and note text/paths that are shell code (captured data is hostile too).
HOSTILE_PROMPT = "deploy zebra-hostile $(touch CANARY_S1) `touch CANARY_S2` '; touch CANARY_S3; ' \"; touch CANARY_S4\""
HOSTILE_NOTE_PATH = "/notes/evil';touch CANARY_N1;'$(touch CANARY_N2).md"
HOSTILE_NOTE_TEXT = "zebra-note $(touch CANARY_N3)\n'; touch CANARY_N4 #\n"
M = "~/.deeplake/memory"

# (id, command, expectation): "deny" = must be denied; "safe" = deny, or an allow in the cat form.
HOSTILE: list[tuple[str, str, str]] = [
    # found by the adversarial review: dot segments, assignments, `cd` then relative, the parent dir
    ("assign-dotseg", "M=~/.deeplake/./memory; ls $M; touch CANARY", "deny"),
    ("assign-abs-dotseg", "M=$HOME/.deeplake/./memory && ls -la $M && touch CANARY", "deny"),
    ("cd-relative-dotseg", "cd; cat .deeplake/./memory/index.md; touch CANARY", "deny"),
    ("dd-if-dotseg", "dd if=~/.deeplake/./memory/index.md of=CANARY", "deny"),
    ("double-slash", "cat ~/.deeplake//memory/index.md > CANARY", "deny"),
    ("parent-recursive", "grep -r token ~/.deeplake", "deny"),
    ("parent-cd", "cd ~/.deeplake && ls -R > CANARY", "deny"),
    ("quadratic-dotdot", "cat /" + "../" * 8000 + "x* ~/.deeplake/mem*/index.md ; touch CANARY", "deny"),
    # second review: globs, braces and substitutions that never spell `deeplake`
    ("glob-star-parent", "echo INJECTED >> ~/.dee*/memory/notes/a.md; touch CANARY", "deny"),
    ("glob-question", "cat ~/.deep?ake/memory/index.md > CANARY", "deny"),
    ("glob-bracket", "cat ~/.[d]eeplake/memory/index.md > CANARY", "deny"),
    ("glob-any-hidden", "cat ~/.*/memory/index.md > CANARY", "deny"),
    ("glob-two-levels", "ls ~/.d*/m* > CANARY", "deny"),
    ("cd-glob-relative", "cd; cat .dee*/memory/index.md > CANARY", "deny"),
    ("subst-in-name", "cat ~/.deep$(echo l)ake/memory/index.md > CANARY", "deny"),
    ("brace-in-name", "cat ~/.dee{p,}lake/memory/index.md > CANARY", "deny"),
    ("glob-parent-recursive", "grep -r token ~/.deep* > CANARY", "deny"),
    # chaining with other commands
    ("semicolon", f"cat {M}/index.md; touch CANARY", "deny"),
    ("and", f"ls {M} && touch CANARY", "deny"),
    ("or", f"ls {M}/nope || touch CANARY", "deny"),
    ("background", f"ls {M} & touch CANARY", "deny"),
    ("newline", f"cat {M}/index.md\ntouch CANARY", "deny"),
    ("crlf", f"cat {M}/index.md\r\ntouch CANARY", "deny"),
    ("continuation", f"cat {M}/index.md \\\n; touch CANARY", "deny"),
    ("pipe-stderr-tee", f"ls {M} |& tee CANARY", "deny"),
    ("subshell", f"(touch CANARY); ls {M}", "deny"),
    ("group", f"{{ touch CANARY; }}; ls {M}", "deny"),
    ("function", f"ls() {{ touch CANARY; }}; ls {M}", "deny"),
    ("alias", f"shopt -s expand_aliases\nalias ls='touch CANARY'\nls {M}", "deny"),
    ("for-loop", f"for f in {M}/*; do touch CANARY; done", "deny"),
    ("if", f"if ls {M}; then touch CANARY; fi", "deny"),
    ("test", f"test -d {M} && touch CANARY", "deny"),
    ("double-bracket", f"[[ -d {M} ]] && touch CANARY", "deny"),
    ("while-read", f"grep -rn x {M} | while read l; do touch CANARY; done", "deny"),
    ("exec-fd", f"exec 3>CANARY; ls {M}", "deny"),
    # substitutions
    ("cmdsubst", f"cat {M}/$(touch CANARY)index.md", "deny"),
    ("cmdsubst-dq", f'grep -rn "$(touch CANARY)" {M}', "deny"),
    ("backtick", f"ls {M}/`touch CANARY`", "deny"),
    ("backtick-note", f'echo "`touch CANARY`" >> {M}/notes/x.md', "deny"),
    ("cmdsubst-note", f"echo $(touch CANARY) >> {M}/notes/x.md", "deny"),
    ("arith-subst", f"echo $(( $(touch CANARY) 1 )) >> {M}/notes/x.md", "deny"),
    ("param-default", f"cat {M}/${{X:-$(touch CANARY)}}index.md", "deny"),
    ("env-prefix-subst", f"X=$(touch CANARY) ls {M}", "deny"),
    ("path-hijack", f"PATH=.:$PATH ls {M}", "deny"),
    ("heredoc-unquoted", f"cat > {M}/notes/h.md <<EOF\n$(touch CANARY)\nEOF", "deny"),
    ("heredoc-backtick", f"cat >> {M}/notes/h.md <<END\n`touch CANARY`\nEND", "deny"),
    ("heredoc-then-cmd", f"cat > {M}/notes/h.md <<'EOF'\nhello\nEOF\ntouch CANARY", "deny"),
    ("heredoc-pipe-sh", f"cat {M}/index.md - <<'EOF' | sh\ntouch CANARY\nEOF", "deny"),
    ("procsubst-in", f"cat <(touch CANARY) {M}/index.md", "deny"),
    ("procsubst-out", f"ls {M} > >(touch CANARY)", "deny"),
    ("procsubst-diff", f"diff {M}/index.md <(touch CANARY)", "deny"),
    ("herestring", f'grep x {M}/index.md <<< "$(touch CANARY)"', "deny"),
    ("ansi-c-quote", f"echo $'\\x24(touch CANARY)' >> {M}/notes/ansi.md", "safe"),
    # interpreters and command runners
    ("pipe-sh", f"cat {M}/notes/run.sh | sh", "deny"),
    ("pipe-bash-s", f"echo 'touch CANARY' | bash -s {M}", "deny"),
    ("head-pipe-sh", f"head -n 1 {M}/notes/run.sh | sh", "deny"),
    ("bash-c", f"bash -c 'touch CANARY' {M}/index.md", "deny"),
    ("sh-c", f"sh -c 'touch CANARY; cat {M}/index.md'", "deny"),
    ("eval", f"eval 'cat {M}/index.md; touch CANARY'", "deny"),
    ("source", f"source {M}/notes/run.sh", "deny"),
    ("dot", f". {M}/notes/run.sh", "deny"),
    ("python", f"python3 -c \"open('CANARY','w')\" {M}/index.md", "deny"),
    ("pipe-python", f"cat {M}/index.md | python3 -c \"open('CANARY','w')\"", "deny"),
    ("perl", f"perl -e 'open(F, \">CANARY\")' {M}/index.md", "deny"),
    ("node", f"node -e \"require('fs').writeFileSync('CANARY','')\" {M}", "deny"),
    ("awk-system", f"awk 'BEGIN{{system(\"touch CANARY\")}}' {M}/index.md", "deny"),
    ("pipe-awk-print", f"grep -rn x {M} | awk '{{print > \"CANARY\"}}'", "deny"),
    ("sed-w", f"sed -n 'w CANARY' {M}/index.md", "deny"),
    ("sed-i-e", f"sed -i '1e touch CANARY' {M}/index.md", "deny"),
    ("xargs", f"ls {M} | xargs touch CANARY", "deny"),
    ("env", f"env touch CANARY {M}/x", "deny"),
    ("command-builtin", f"command touch CANARY {M}/x", "deny"),
    ("nohup", f"nohup touch CANARY {M}/x", "deny"),
    ("find-exec", f"find {M} -exec touch CANARY \\;", "deny"),
    ("find-execdir", f"find {M} -name '*.md' -execdir touch CANARY \\;", "deny"),
    ("find-fprint", f"find {M} -fprint CANARY", "deny"),
    ("find-or-exec", f"find {M} -name x -o -exec sh -c 'touch CANARY' \\;", "deny"),
    ("find-name-subst", f'find {M} -name "$(touch CANARY)"', "deny"),
    # redirection to host files
    ("redirect", f"cat {M}/index.md > CANARY", "deny"),
    ("redirect-append", f"grep -rn x {M} >> CANARY", "deny"),
    ("redirect-clobber", f"ls {M} >| CANARY", "deny"),
    ("redirect-stderr", f"cat {M}/nope 2> CANARY", "deny"),
    ("redirect-all", f"ls {M} &> CANARY", "deny"),
    ("redirect-dup-word", f"head {M}/index.md >&CANARY", "deny"),
    ("redirect-fd-prefix", f"3>CANARY cat {M}/index.md", "deny"),
    ("redirect-in-out", f"cat < {M}/index.md > CANARY", "deny"),
    ("note-and-host-redirect", f"echo x >> {M}/notes/a.md > CANARY", "deny"),
    ("note-stderr-host", f"echo x >> {M}/notes/a.md 2>CANARY", "deny"),
    ("tee", f"cat {M}/index.md | tee CANARY", "deny"),
    ("tee-a-both", f"echo hi | tee -a {M}/notes/a.md CANARY", "deny"),
    # file operations into / out of the memory path
    ("cp-out", f"cp {M}/index.md CANARY", "deny"),
    ("cp-in", f"cp {M}/index.md {M}/notes/CANARY", "deny"),
    ("mv", f"mv {M}/index.md {M}/CANARY", "deny"),
    ("ln-s-in", f"ln -s ~/.deeplake/credentials.json {M}/notes/CANARY", "deny"),
    ("ln-s-out", f"ln -s {M} CANARY", "deny"),
    ("touch-in", f"touch {M}/notes/CANARY", "deny"),
    ("mkdir-in", f"mkdir {M}/CANARY", "deny"),
    ("cd-and", f"cd {M} && touch CANARY", "deny"),
    ("note-then-run", f"echo 'touch CANARY' > {M}/notes/a.md; sh {M}/notes/a.md", "deny"),
    # path tricks: .., globs, braces, quotes, $HOME
    ("dotdot-read", f"cat {M}/../credentials.json", "deny"),
    ("dotdot-deep", f"head -c 4096 {M}/notes/../../credentials.json", "deny"),
    ("dotdot-write", f"echo x > {M}/../CANARY", "deny"),
    ("dotdot-note", f"echo x >> {M}/notes/../../../CANARY", "deny"),
    ("dotdot-grep", f"grep -rn lk- {M}/..", "deny"),
    ("glob-dotdot", "cat ~/.deeplake/mem*/../credentials.json", "deny"),
    ("glob-escape-star", "head -n 50 ~/.deeplake/*/index.md ~/.deeplake/*.json", "safe"),
    ("glob-escape-mem", "grep -r '' ~/.deeplake/mem* ~/.deeplake/cred*", "safe"),
    ("extra-host-file", f"cat {M}/index.md ~/.deeplake/credentials.json", "safe"),
    ("grep-extra-host-file", f"grep -rn '' {M} ~/.deeplake/credentials.json", "safe"),
    ("symlink-on-disk", f"cat {M}/notes/leak.md", "safe"),
    ("brace-escape", "cat ~/.deeplake/{memory/index.md,credentials.json}", "safe"),
    ("brace-touch", f"touch {M}/{{CANARY,b}}", "deny"),
    ("brace-commands", f"{{cat,{M}/index.md}}; {{touch,CANARY}}", "deny"),
    ("quote-split", "cat ~/.deep''lake/memory/index.md > CANARY", "deny"),
    ("quote-split-touch", "touch ~/\".deeplake\"/mem'o'ry/CANARY", "deny"),
    ("backslash-split", "cat ~/.deep\\lake/memory/index.md;touch CANARY", "deny"),
    ("home-var", "cat $HOME/.deeplake/memory/index.md && touch CANARY", "deny"),
    ("home-brace-var", 'grep -rn x "${HOME}/.deeplake/memory" > CANARY', "deny"),
    ("tilde-plus", "cat ~+/../home/.deeplake/memory/index.md; touch CANARY", "deny"),
    # bytes and sizes
    ("nul-separator", f"cat {M}/index.md\x00; touch CANARY", "deny"),
    ("nul-in-path", f"cat {M}/index.md\x00/../../credentials.json", "deny"),
    ("fullwidth-semicolon", f"cat {M}/index.md\uff1btouch CANARY", "safe"),
    ("over-long-spaces", f"cat {M}/index.md" + " " * 1_000_000 + "; touch CANARY", "deny"),
    ("over-1mib-payload", f"cat {M}/index.md" + " " * 1_200_000 + "; touch CANARY", "deny"),
    ("over-long-path", f"cat {M}/" + "a/" * 20_000 + "index.md; touch CANARY", "deny"),
]


@dataclass
class World:
    """The test's HOME with fake credentials at ``~/.deeplake/credentials.json`` (and, when the
    fixture is given ``True``, a decoy memory dir on disk at ``mem``), the project dir (the
    payload's cwd, where commands run) and the answer dir."""

    tmp: Path
    home: Path
    project: Path
    mem: Path
    creds: Path
    answers: Path
    scripts: Path


@pytest.fixture
def world(tmp_path, request) -> World:
    decoy = getattr(request, "param", False)
    home = tmp_path / "home"
    project = tmp_path / "project"
    project.mkdir()
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    creds = home / ".deeplake" / "credentials.json"
    creds.parent.mkdir(parents=True)
    creds.write_text(json.dumps({"token": TOKEN, "org_id": "acme"}))
    mem = home / ".deeplake" / "memory"  # decoy on disk: only a pass-through would ever read it
    if decoy:
        (mem / "notes").mkdir(parents=True)
        (mem / "sessions").mkdir()
        (mem / "index.md").write_text("# decoy index x\n")
        (mem / "notes" / "a.md").write_text("decoy note x\n")
        (mem / "notes" / "run.sh").write_text("touch CANARY_RUN\n")
        (mem / "notes" / "leak.md").symlink_to(creds)
    fake_ls = project / "ls"  # PATH=. hijack target
    fake_ls.write_text("#!/bin/sh\ntouch CANARY_LS\n")
    fake_ls.chmod(0o755)
    _seed_store(project)
    return World(tmp_path, home, project, mem, creds, paths.data_dir() / "memory-answers", scripts)


def _seed_store(project: Path) -> None:
    from lakeloop.capture.rows import build_message, session_row
    from lakeloop.identity import Identity
    from lakeloop.store.embedded import EmbeddedStore

    ident = Identity("tester")
    with EmbeddedStore(paths.store_file()) as store:
        for n, prompt in enumerate((HOSTILE_PROMPT, "second line x")):
            message = build_message(
                {"hook_event_name": "UserPromptSubmit", "session_id": SID, "cwd": str(project), "prompt": prompt},
                event_id=f"00000000-0000-4000-8000-00000000000{n}",
                received_at_ns=1_700_000_000_000_000_000 + n,
            )
            store.append_session_rows([session_row(message, ident)])
        if hasattr(store, "insert_note"):
            from lakeloop.store.memory_types import NoteRow

            store.insert_note(
                NoteRow(
                    id="e" * 32,
                    path=HOSTILE_NOTE_PATH,
                    text=HOSTILE_NOTE_TEXT,
                    author="mallory",
                    project="project",
                    date="2024-01-01T00:00:00.000Z",
                )
            )


def payload(world: World, tool: str, tool_input: dict, cwd: Path | None = None) -> dict:
    """A PreToolUse payload shaped like the recorded Claude Code 2.1.330 ones."""
    return pretooluse_payload(
        tool,
        tool_input,
        cwd or world.project,
        session_id=SID,
        transcript=world.home / ".claude" / "projects" / "p" / f"{SID}.jsonl",
    )


#: ``hooks/run PreToolUse`` on a payload: (decision, output, process) (``tests.support.hooks``).
hook = run_pretooluse


def bash(world: World, command: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``command`` with bash in ``cwd`` (from a script file: no argument-size limit)."""
    script = world.scripts / f"cmd{len(list(world.scripts.iterdir()))}.sh"
    script.write_bytes(command.encode("utf-8", "surrogateescape"))
    env = dict(os.environ, HOME=str(world.home))
    return subprocess.run(
        ["bash", str(script)], cwd=cwd, env=env, capture_output=True, timeout=30, stdin=subprocess.DEVNULL
    )


def act(world: World, decision: str, out: dict | None, command: str, cwd: Path) -> subprocess.CompletedProcess | None:
    """What Claude Code does with the hook's answer to a Bash call."""
    if decision == "deny":
        return None
    if decision == "allow":
        return bash(world, out["hookSpecificOutput"]["updatedInput"]["command"], cwd)
    return bash(world, command, cwd)  # pass through: the original runs


def answer_form(world: World) -> re.Pattern:
    d = re.escape(str(world.answers))
    return re.compile(rf"(?:cat -- '{d}/[0-9a-f]{{32}}\.txt'|true)(?:; exit [0-9]+)?")


def canaries(world: World) -> list[str]:
    found = []
    for top, dirs, files in os.walk(world.tmp):
        found += [os.path.join(top, n) for n in dirs + files if "CANARY" in n]
    return found


def token_leaks(world: World) -> list[str]:
    """Files under the tmp dir (symlinks not followed) other than the credentials holding TOKEN."""
    return files_holding(world.tmp, TOKEN, besides=world.creds)


def check_safe(
    world: World,
    decision: str,
    out: dict | None,
    proc: subprocess.CompletedProcess,
    ran: subprocess.CompletedProcess | None,
) -> None:
    assert decision != "pass", "a command touching the memory path passed through to the host shell"
    assert proc.stderr == b"", proc.stderr[-2000:]
    assert TOKEN.encode() not in proc.stdout
    if decision == "allow":
        command = out["hookSpecificOutput"]["updatedInput"]["command"]
        assert answer_form(world).fullmatch(command), command[:500]
    if ran is not None:
        assert TOKEN.encode() not in ran.stdout + ran.stderr
    assert canaries(world) == []
    assert token_leaks(world) == []


@pytest.mark.parametrize("world", [False, True], ids=["virtual", "decoy-on-disk"], indirect=True)
@pytest.mark.parametrize("command,expect", [(c, e) for _, c, e in HOSTILE], ids=[i for i, _, _ in HOSTILE])
def test_hostile_bash_command_never_runs(world, command, expect):
    """Each hostile command: denied (or, where harmless, answered in the cat form); nothing ran."""
    decision, out, proc = hook(payload(world, "Bash", {"command": command, "description": "look at memory"}))
    ran = act(world, decision, out, command, world.project)
    check_safe(world, decision, out, proc, ran)
    if expect == "deny":
        assert decision == "deny", (decision, out)
    if decision == "deny":
        reason = out["hookSpecificOutput"]["permissionDecisionReason"]
        assert reason.strip() and "\n" not in reason and TOKEN not in reason


def test_there_are_enough_hostile_commands():
    assert len(HOSTILE) >= 45
    assert len({i for i, _, _ in HOSTILE}) == len(HOSTILE)


@pytest.mark.parametrize("world", [True], ids=["decoy-on-disk"], indirect=True)
@pytest.mark.parametrize(
    "command", ["touch CANARY", "cat ../credentials.json", "ls; touch CANARY", "cat index.md > CANARY"]
)
def test_commands_run_from_inside_the_memory_path(world, command):
    """cwd inside the memory path: relative commands touch it too."""
    decision, out, proc = hook(payload(world, "Bash", {"command": command, "description": "x"}, cwd=world.mem))
    ran = act(world, decision, out, command, world.mem)
    check_safe(world, decision, out, proc, ran)
    if "CANARY" in command:
        assert decision == "deny"


# ---------------------------------------------------------------------- stored text is data
def test_stored_shell_code_is_printed_never_run(world):
    """A session line holding $(...), backticks and quote breaks is found by grep and printed
    verbatim by the allowed cat; nothing in it runs."""
    command = f"grep -rn zebra-hostile {M} | head"
    decision, out, proc = hook(payload(world, "Bash", {"command": command, "description": "search"}))
    assert decision == "allow", out
    ran = act(world, decision, out, command, world.project)
    check_safe(world, decision, out, proc, ran)
    printed = ran.stdout.decode()
    assert "$(touch CANARY_S1)" in printed and "`touch CANARY_S2`" in printed, printed
    assert ran.returncode == 0


def test_hostile_note_path_and_text_are_data(world):
    """A memory-table row (another client's) whose path and text are shell code: listing and
    reading it print them; nothing runs."""
    for command in (f"ls {M}/notes", f"find {M} -name '*.md'", f"grep -rn zebra-note {M}"):
        decision, out, proc = hook(payload(world, "Bash", {"command": command, "description": "x"}))
        assert decision == "allow", (command, out)
        ran = act(world, decision, out, command, world.project)
        check_safe(world, decision, out, proc, ran)
        assert "touch CANARY_N" in ran.stdout.decode(), (command, ran.stdout)


def test_a_quoted_note_is_stored_literally_and_read_back(world):
    """``echo '$(touch CANARY)' >> note`` stores the literal text (single quotes: no
    substitution in bash either); reading the note back prints it and runs nothing."""
    note = f"{M}/notes/literal.md"
    for command in (f"echo '$(touch CANARY_L)' >> {note}", f"cat {note}"):
        decision, out, proc = hook(payload(world, "Bash", {"command": command, "description": "note"}))
        assert decision == "allow", (command, out)
        ran = act(world, decision, out, command, world.project)
        check_safe(world, decision, out, proc, ran)
    assert ran.stdout.decode() == "$(touch CANARY_L)\n"


# ---------------------------------------------------------------------- other tools
@pytest.mark.parametrize(
    "tool,tool_input",
    [
        ("Write", {"file_path": f"{M}/notes/x.md", "content": "hello"}),
        ("Write", {"file_path": f"{M}/index.md", "content": "hello"}),
        ("Edit", {"file_path": f"{M}/index.md", "old_string": "a", "new_string": "b"}),
        ("MultiEdit", {"file_path": f"{M}/notes/a.md", "edits": [{"old_string": "a", "new_string": "b"}]}),
        ("NotebookEdit", {"notebook_path": f"{M}/notes/n.ipynb", "new_source": "x", "cell_id": "c1"}),
    ],
)
def test_write_tools_on_the_memory_path_are_denied_with_a_note_hint(world, tool, tool_input):
    ti = {
        k: (v.replace("~", str(world.home), 1) if isinstance(v, str) and v.startswith("~") else v)
        for k, v in tool_input.items()
    }
    decision, out, proc = hook(payload(world, tool, ti))
    assert decision == "deny", out
    reason = out["hookSpecificOutput"]["permissionDecisionReason"]
    assert "\n" not in reason and len(reason.replace(str(world.mem), "R")) < 400, reason
    assert "echo" in reason and "notes/" in reason, reason
    assert proc.stderr == b""


def test_write_on_an_answer_file_is_denied(world):
    decision, out, _ = hook(payload(world, "Bash", {"command": f"ls {M}", "description": "x"}))
    assert decision == "allow", out
    answer = re.search(r"'([^']+)'", out["hookSpecificOutput"]["updatedInput"]["command"]).group(1)
    assert Path(answer).parent == world.answers
    before = Path(answer).read_bytes()
    for tool, ti in (
        ("Write", {"file_path": answer, "content": "touch CANARY"}),
        ("Edit", {"file_path": answer, "old_string": "index", "new_string": "$(touch CANARY)"}),
    ):
        decision, out, _ = hook(payload(world, tool, ti))
        assert decision == "deny", (tool, out)
        assert "\n" not in out["hookSpecificOutput"]["permissionDecisionReason"]
    assert Path(answer).read_bytes() == before


@pytest.mark.parametrize("world", [False, True], ids=["virtual", "decoy-on-disk"], indirect=True)
def test_read_and_grep_never_see_the_disk(world):
    """Read of the decoy symlink and Grep for the token answer from the store (or, with the decoy
    on disk, are refused): the token stays out."""
    decision, out, proc = hook(payload(world, "Read", {"file_path": str(world.mem / "notes" / "leak.md")}))
    assert decision in ("allow", "deny") and TOKEN.encode() not in proc.stdout
    if decision == "allow":
        assert Path(out["hookSpecificOutput"]["updatedInput"]["file_path"]).parent == world.answers
    decision, out, proc = hook(
        payload(world, "Grep", {"pattern": "lk-secret", "path": str(world.mem), "output_mode": "content"})
    )
    assert decision == ("deny" if world.mem.exists() else "allow"), out
    if decision == "allow":
        assert Path(out["hookSpecificOutput"]["updatedInput"]["path"]).parent == world.answers
    decision, out, proc = hook(
        payload(world, "Grep", {"pattern": "x", "path": str(world.mem) + "/..", "output_mode": "content"})
    )
    assert decision == "deny", out
    assert canaries(world) == [] and token_leaks(world) == []


# ---------------------------------------------------------------------- benign and unrelated
@pytest.mark.parametrize(
    "command", [f"ls {M}", f"grep -rn x {M} | head", f"cat {M}/index.md", f"grep -rn x {M}/sessions | head -20"]
)
def test_benign_memory_commands_are_answered_in_the_cat_form(world, command):
    decision, out, proc = hook(payload(world, "Bash", {"command": command, "description": "read memory"}))
    assert decision == "allow", out
    ran = act(world, decision, out, command, world.project)
    check_safe(world, decision, out, proc, ran)
    assert "decoy" not in ran.stdout.decode()  # answered from the store, never from the disk
    if command.startswith("ls"):
        assert "index.md" in ran.stdout.decode()


@pytest.mark.parametrize(
    "tool,tool_input",
    [
        ("Bash", {"command": "ls -la", "description": "List files"}),
        ("Bash", {"command": "git status", "description": "Status"}),
        ("Read", {"file_path": "notes.txt"}),
        ("Grep", {"pattern": "memory", "path": "."}),
    ],
)
def test_unrelated_calls_pass_through_without_importing_the_memory_package(world, tool, tool_input):
    """Only the import-light byte prefilter of the memory package runs for them."""
    decision, out, proc = hook(payload(world, tool, tool_input), PYTHONPROFILEIMPORTTIME="1")
    assert decision == "pass" and proc.stdout == b""
    imported = [
        line.rsplit("|", 1)[-1].strip() for line in proc.stderr.decode().splitlines() if "lakeloop.memory" in line
    ]
    assert sorted(imported) == ["lakeloop.memory", "lakeloop.memory.prefilter"]
    assert "import time:" in proc.stderr.decode()  # the profile did run
    log = paths.log_file().read_text() if paths.log_file().exists() else ""
    assert "memory" not in log


def test_an_unreadable_store_denies_never_passes_through(world):
    """Fail closed: when the store cannot answer, a memory command is denied, not run on the host."""
    for f in paths.store_file().parent.glob(paths.store_file().name + "*"):
        f.unlink()
    paths.store_file().write_bytes(b"SQLite format 3\x00" + b"\xff" * 4096)
    command = f"cat {M}/index.md"
    decision, out, proc = hook(payload(world, "Bash", {"command": command, "description": "read memory"}))
    check_safe(world, decision, out, proc, act(world, decision, out, command, world.project))
    assert decision == "deny", out


_BREAK_IMPORT = """
import sys


class _Broken:
    def find_spec(self, name, path=None, target=None):
        if name == "lakeloop.memory.bash.runner":
            raise ImportError("broken on purpose by the test")
        return None


sys.meta_path.insert(0, _Broken())
"""


def test_a_crash_in_the_memory_answer_denies_never_passes_through(world, tmp_path):
    """Fail closed: when answering crashes (here: a module that cannot be imported), a memory
    command is denied; the hook's crash handler printing nothing would let the host run it."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(_BREAK_IMPORT)
    command = f"cat {M}/index.md"
    decision, out, proc = hook(
        payload(world, "Bash", {"command": command, "description": "read memory"}), PYTHONPATH=str(site)
    )
    assert "ImportError" in paths.log_file().read_text()  # the crash did happen
    check_safe(world, decision, out, proc, act(world, decision, out, command, world.project))
    assert decision == "deny", out


def test_a_backtracking_regex_is_denied_within_the_deadline(world):
    """A pattern that backtracks exponentially in Python's ``re`` (run inside SQLite, no index can
    narrow it) is cut by the answer's deadline and denied, before Claude Code's 5 s hook timeout
    would let the tool call run unanswered."""
    import time

    from lakeloop.capture.rows import session_row
    from lakeloop.identity import Identity

    msg = {
        "id": "bt-1",
        "session_id": "bt",
        "cwd": "/w/p",
        "hook_event_name": "Stop",
        "timestamp": "2026-11-20T10:00:00.000Z",
        "type": "assistant_message",
        "content": "a" * 40,
    }
    from lakeloop.store import open_store

    with open_store() as store:
        store.append_session_rows([session_row(msg, Identity(user="alice", org_name="acme", workspace="default"))])
    started = time.monotonic()
    decision, out, proc = hook(payload(world, "Bash", {"command": f"grep -rcE '(a*)*@' {M}"}))
    took = time.monotonic() - started
    assert decision == "deny" and "could not answer within" in out["hookSpecificOutput"]["permissionDecisionReason"]
    assert took < 5.0, took


def test_a_note_write_waiting_on_a_locked_store_is_answered_within_the_timeout(world):
    """Another process holds the embedded store's write lock: a note write through the real hook
    gives up in time (a deny saying so), never overruns the 5 s hook timeout; a read still works
    (WAL readers are not blocked)."""
    import sqlite3

    from lakeloop import paths
    from lakeloop.store import open_store

    with open_store():
        pass  # the store file exists, migrated
    holder = sqlite3.connect(str(paths.store_file()), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        decision, out, _ = hook(payload(world, "Bash", {"command": f"echo held > {M}/notes/locked.md"}))
        assert decision == "deny" and "\n" not in out["hookSpecificOutput"]["permissionDecisionReason"]
        decision, out, _ = hook(payload(world, "Bash", {"command": f"ls {M}"}))
        assert decision == "allow"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
