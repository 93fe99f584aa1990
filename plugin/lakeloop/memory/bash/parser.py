"""The Bash command parser of the memory path: understand a command fully, or refuse it.

``parse(command, root=, home=, cwd=, guards=())`` returns a ``syntax.Script`` (run on the virtual
tree by ``runner``), None (the command does not touch the memory path or a guard:
``scan.touches_memory`` is false; or it is a fully understood read-only command on host paths
only, none of them guarded: pass it through), or raises ``syntax.CommandRefused`` whose
``reason`` is one line telling the agent what it can do instead.

Accepted: pipelines (``|``) of ``cat [-n]``, ``head [-n N|-N]``, ``tail [-n N|-N|-n +N]``,
``ls [-1aAlRh]``, ``grep`` (``-rRinlcwvFEGhHsqy``, ``-e PAT``, ``-A/-B/-C N``, ``-NUM``, the
matching long options, ``--``), ``wc [-lwcm]``, ``find PATH... [-name P] [-iname P]
[-type f|d] [-maxdepth N] [-mindepth N] [-print]`` and ``echo [-n] ...``; the first stage
reads memory paths, later stages read stdin. Writes: ``echo TEXT >|>> PATH`` and
``cat >|>> PATH <<EOF`` (heredoc body verbatim) to a writable memory path, as the whole
command. Words are lexed like POSIX sh (``lexer``): quotes, backslashes, ``~``/``$HOME``/
``${HOME}`` at the start of a word. Everything else a shell would interpret (``;``, ``&&``,
``||``, ``&``, ``$(...)``, backticks, other ``$`` expansions, ``<``, ``<<<``, ``2>``, ``>&``,
``( )``, ``{ }``, unquoted globs, ``!``, ``#``, newlines outside a heredoc), unknown commands and
flags (``options``), ``..`` segments and paths outside the root are refused.
"""

from __future__ import annotations

import re

from ..notes import READ_ONLY
from .lexer import Heredoc, Lexer, Word
from .options import STAGES, echo_text
from .scan import touches_memory
from .syntax import MAX_COMMAND_CHARS, Ctx, Script, Stage, Write, norm_root, show

TYPE_CHECKING = False
if TYPE_CHECKING:  # no typing at run time: parsed on every Bash call that may touch the memory path
    from typing import Any, NoReturn

#: The commands the memory path runs.
COMMANDS = ("cat", "head", "tail", "ls", "grep", "wc", "find", "echo")

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def parse(command: str, *, root: str, home: str, cwd: str, guards: tuple[str, ...] = ()) -> Script | None:
    """Parse a Bash ``command`` against the memory ``root`` (absolute), ``home``, ``cwd`` and
    ``guards`` (absolute paths no command may read or write on the host: see ``touches_memory``).

    Returns None when the command does not touch the memory path (``touches_memory`` is
    false), or when it is a fully understood read-only command whose path operands all lie
    outside the root (e.g. ``grep -rn '.deeplake/memory' src/``: the host may run it).
    Otherwise returns the ``Script``. Raises ``CommandRefused`` (one-line ``reason``) for anything
    not accepted; see the module docstring."""
    root = norm_root(root)
    home = (home or "/").rstrip("/") or "/"
    cwd = norm_root(cwd or home)
    if not touches_memory(command, root, home, cwd=cwd, guards=guards):
        return None
    ctx = Ctx(root, home, cwd, guards)
    if len(command) > MAX_COMMAND_CHARS:
        ctx.refuse(f"A command over {MAX_COMMAND_CHARS} characters on the memory path")
    if _CONTROL.search(command):
        ctx.refuse("Control characters in a command on the memory path")
    tokens = Lexer(command, home, ctx.hint).tokens()
    stages_raw: list[list[Any]] = [[]]
    for tok in tokens:
        if tok == "|":
            stages_raw.append([])
        else:
            stages_raw[-1].append(tok)
    if any(not st for st in stages_raw):
        ctx.refuse("An empty pipeline stage")
    parsed = [_split_stage(st, ctx) for st in stages_raw]
    single = len(parsed) == 1
    stdin: str | None = None
    stages: list[Stage] = []
    write: Write | None = None
    for k, (words, redirs, heredoc) in enumerate(parsed):
        name = words[0].text
        if name not in COMMANDS:
            _refuse_command(name, ctx)
        if redirs and not single:
            ctx.refuse("Redirection inside a pipeline", "a write must be the whole command: `echo TEXT >> FILE`")
        if heredoc is not None:
            if k or name != "cat":
                ctx.refuse("A heredoc here", "only `cat > FILE <<'EOF'` (a note) or `cat <<'EOF' | ...` is accepted")
            stdin = heredoc.body
        if redirs:
            write = _write(words, redirs, heredoc, ctx)
            stages.append(write_stage := STAGES[name](words[1:], ctx, True, heredoc is not None))
            if write_stage.operands and name == "cat":
                ctx.refuse("`cat FILE > FILE`", "write notes with `echo TEXT >> FILE` or `cat > FILE <<'EOF'`")
            break
        stages.append(STAGES[name](words[1:], ctx, k == 0, k > 0 or heredoc is not None))
    if write is not None:
        if ctx.host:
            ctx.refuse(f"{ctx.host[0]} is outside the memory path", "a note can only be written under " + root)
        return Script(stages, write, stdin)
    if ctx.host:
        if ctx.memory:
            ctx.refuse(
                f"The command mixes memory paths and host paths ({ctx.host[0]})",
                "run memory commands on the memory path only, host commands separately",
            )
        return None
    return Script(stages, None, stdin)


def _split_stage(tokens: list[Any], ctx: Ctx) -> tuple[list[Word], list[tuple[str, Word]], Heredoc | None]:
    words: list[Word] = []
    redirs: list[tuple[str, Word]] = []
    heredoc: Heredoc | None = None
    it = iter(tokens)
    for tok in it:
        if tok in (">", ">>"):
            target = next(it, None)
            if not isinstance(target, Word):
                ctx.refuse(f"`{tok}` without a file name")
            redirs.append((tok, target))
        elif isinstance(tok, Heredoc):
            heredoc = tok
        else:
            words.append(tok)
    if not words:
        ctx.refuse("A redirection or heredoc without a command")
    if len(redirs) > 1:
        ctx.refuse("Several redirections", "write one note per command")
    return words, redirs, heredoc


_INTERPRETERS = frozenset(
    "sh bash zsh dash ksh fish python python3 perl ruby node deno bun php lua "
    "awk gawk mawk sed env xargs exec eval source . command builtin nohup timeout "
    "sudo su watch time nice".split()
)
_MUTATORS = frozenset(
    "rm cp mv ln tee touch mkdir rmdir chmod chown truncate dd install rsync tar zip unzip git curl wget scp".split()
)


def _refuse_command(name: str, ctx: Ctx) -> NoReturn:
    shown = show(name, 40)
    if name in _INTERPRETERS:
        ctx.refuse(f"`{shown}` cannot run on the memory path (it is virtual and read-only)")
    if name in _MUTATORS or name == "cd":
        ctx.refuse(f"`{shown}` cannot run on the memory path (it is virtual and read-only)")
    ctx.refuse(f"`{shown}` is not available on the memory path")


def _write(words: list[Word], redirs: list[tuple[str, Word]], heredoc: Heredoc | None, ctx: Ctx) -> Write:
    op, target = redirs[0]
    name = words[0].text
    if name == "echo":
        if heredoc is not None:
            ctx.refuse("`echo` with a heredoc")
        text = echo_text(words[1:], ctx)
    elif name == "cat" and heredoc is not None and len(words) == 1:
        text = heredoc.body
    else:
        ctx.refuse(
            f"Writing the output of `{name}` to a file",
            f"notes are written with `echo 'TEXT' >> {ctx.root}/notes/NAME.md` or `cat > FILE <<'EOF'`",
        )
    vpath = ctx.path(target.text, target.text)
    if vpath is None:
        ctx.refuse(
            f"Redirection to {show(target.text)} (outside the memory path)",
            "run host commands separately, without memory paths",
        )
    if target.text.endswith("/") or vpath == "/" or any(vpath == p or vpath.startswith(p + "/") for p in READ_ONLY):
        ctx.refuse(
            f"{show(target.text)} is read-only (written by lakeloop only)",
            f"write notes elsewhere, e.g. `echo 'TEXT' >> {ctx.root}/notes/NAME.md`",
        )
    return Write(op, vpath, text, target.text)
