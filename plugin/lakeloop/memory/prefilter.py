"""The PreToolUse byte prefilter of the memory path: might this payload touch the memory path, or
reach lakeloop's credentials or ``~/.deeplake`` beside it?

``is_candidate(event, data)`` runs in EVERY PreToolUse hook whose payload cannot load a skill,
before any JSON parsing (``lakeloop.hooks.main``): a false answer ends the hook there. It reads the
raw payload bytes with a few substring tests, and stat calls only when a tool's path is in play, so
it imports nothing beyond ``os`` (always loaded by Python's start-up); keep it that way. A true
answer only costs the full check (``lakeloop.memory.answer``): conservative means a false hit is
fine and a miss is a hole.
"""

from __future__ import annotations

import os

#: Bytes of shell expansion that could spell the memory path without naming it.
_EXPANSION = (b"*", b"?", b"[", b"$", b"`")

#: Tool-path keys of Claude Code's (and Codex CLI's) tools, as JSON text.
_PATH_KEYS = (b'"file_path"', b'"path"', b'"notebook_path"')
#: Gemini CLI's: its directory argument is ``dir_path`` (``run_shell_command``, ``glob``,
#: ``grep_search``, ``list_directory``).
_GEMINI_PATH_KEYS = (*_PATH_KEYS, b'"dir_path"')


def is_candidate(event: str, data: bytes, agent: str = "claude") -> bool:
    """True when a PreToolUse payload (``data``: its raw JSON bytes; ``event``: the hook event,
    False for any other than ``PreToolUse``) may touch the memory path (``lakeloop.memory``) or a path
    guarded beside it (lakeloop's credentials file, ``~/.deeplake``: ``lakeloop.memory.paths.
    guarded``), so that it must get the full check. Cheap and conservative: a false hit only costs
    a parse. A payload is a candidate when

    * with quotes and backslashes removed it contains ``deeplake`` (the default root and
      credentials), the last component of ``LAKELOOP_MEMORY_PATH``, the credentials file's name
      (``credentials.json``) and, for ``LAKELOOP_DEEPLAKE_CREDENTIALS``, the names of its
      directories below the home directory, or ``memory-answers`` (the answer files' directory,
      whose files Write/Edit may not change);
    * a tool's path (``file_path``, ``path``, ``notebook_path``; Grep's and Glob's cwd when they
      have none), as spelled (``~/.``, ``//``, ``/./`` read as what they name) or through a
      symlink, is at, under or above a guarded path; or a Glob pattern or Grep glob is absolute,
      ``~`` or climbs with ``..``;
    * a Bash command holds a shell expansion that can reach a hidden directory (``_expands``), or
      may reach a guarded path without naming it (``_reaches_unnamed``).

    ``agent`` (a ``lakeloop.agents`` name) picks the tool vocabulary of the raw payload: Claude
    Code's and Codex CLI's are the same; Gemini CLI's shell is ``run_shell_command`` (its
    ``dir_path`` is read like a tool's path), its searches are ``glob`` (``pattern``) and
    ``grep_search`` (``include_pattern``), and a ``read_many_files`` call (its ``include`` is a
    list, not read here) is always a candidate."""
    if event != "PreToolUse":
        return False
    gemini = agent == "gemini"
    flat = data.translate(None, b"'\"\\")
    root = os.environ.get("LAKELOOP_MEMORY_PATH", "").strip().rstrip("/")
    creds = os.environ.get("LAKELOOP_DEEPLAKE_CREDENTIALS", "").strip().rstrip("/")
    names, visible = _names(root, creds)
    if any(n and n in flat for n in names):
        return True
    tops = _Tops(root, creds)
    if _path_reaches(data, tops, gemini):
        return True
    if (b'"run_shell_command"' if gemini else b'"Bash"') not in data:
        return gemini and b'"read_many_files"' in data
    start = data.find(b'"tool_input"')  # only the tool's input: transcript_path and cwd hold `/.` too
    if start < 0:
        return True
    end = data.find(b'"tool_use_id"', start)
    region = data[start:end] if end > start else data[start:]
    # Pieces joined by the shell or an interpreter (`~/.deep'lake'`, `'~/.deep' + 'lake'`): with
    # every byte but letters and digits removed, the command still says `deeplake`.
    if b"deeplake" in region.lower().translate(None, _NOT_ALNUM):
        return True
    # A Bash command can name the memory path without spelling it (`~/.dee*/memory`,
    # `~/.deep?ake`, `$D/memory`, `{a,b}`, backticks: lakeloop.memory.bash.scan.touches_memory), or
    # reach the credentials without naming them (`grep -r x ~`, `cd; ... | xargs cat`:
    # lakeloop.memory.reach).
    return _expands(region, visible) or _reaches_unnamed(region, data, tops)


_NOT_ALNUM = bytes(b for b in range(256) if not (48 <= b <= 57 or 97 <= b <= 122))


class _Tops:
    """The paths a tool call may not reach (``~/.deeplake``, the default and the configured
    credentials file, the memory root), absolute and squeezed; ``above`` holds them and every
    directory above them (the home directory among them) as bytes (``/`` as ``b""``); ``real``
    their real paths. Each computed on first use (``real`` only when a symlink is in play)."""

    def __init__(self, root: str, creds: str) -> None:
        self._given = (root, creds)
        self._paths: list[str] | None = None
        self._real: list[str] | None = None
        self._above: set[bytes] | None = None

    @property
    def paths(self) -> list[str]:
        """The paths, absolute and squeezed."""
        if self._paths is None:
            root, creds = self._given
            home = os.path.expanduser("~")
            given = (home + "/.deeplake", home + "/.deeplake/credentials.json", creds, root)
            self._paths = list(dict.fromkeys(_squeeze(os.path.abspath(os.path.expanduser(p))) for p in given if p))
        return self._paths

    @property
    def real(self) -> list[str]:
        """The real paths of ``paths`` (symlinks followed)."""
        if self._real is None:
            self._real = list(dict.fromkeys(os.path.realpath(p) for p in self.paths))
        return self._real

    @property
    def above(self) -> set[bytes]:
        """The paths and every directory above them, without a trailing ``/``, as bytes."""
        if self._above is None:
            out = set()
            for p in self.paths:
                while True:
                    out.add(p.rstrip("/").encode("utf-8", "surrogateescape"))
                    if p == "/" or "/" not in p:
                        break
                    p = p.rsplit("/", 1)[0] or "/"
            self._above = out
        return self._above

    def reached(self, path: str, real: bool = False) -> bool:
        """Is absolute squeezed ``path`` at, under or above one of the paths (``real``: of their
        real paths)?"""
        inside = path.rstrip("/") + "/"
        return any(
            p == path or p.startswith(inside) or path.startswith(p + "/") for p in (self.real if real else self.paths)
        )


def _squeeze(path: str) -> str:
    """``os.path.normpath`` with a leading ``//`` read as ``/`` (``lakeloop.memory.paths.squeeze``)."""
    norm = os.path.normpath(path)
    return "/" + norm.lstrip("/") if norm.startswith("//") else norm


def _values(data: bytes, key: bytes) -> list[bytes | None]:
    """The string values of JSON ``key`` (given with its quotes) in ``data``; None for a value
    holding an escape (not decoded here: the caller is conservative)."""
    out: list[bytes | None] = []
    at = data.find(key)
    while at >= 0:
        i = at + len(key)
        while data[i : i + 1] in (b" ", b"\t", b"\n", b"\r"):
            i += 1
        if data[i : i + 1] == b":":
            i += 1
            while data[i : i + 1] in (b" ", b"\t", b"\n", b"\r"):
                i += 1
            if data[i : i + 1] == b'"':
                j = data.find(b'"', i + 1)
                value = data[i + 1 : j] if j > i else None
                out.append(None if value is None or b"\\" in value else value)
        at = data.find(key, at + 1)
    return out


def _path_reaches(data: bytes, tops: _Tops, gemini: bool = False) -> bool:
    """Does a tool's path argument name (as spelled or through a symlink) a place at, under or
    above a guarded path; or does a Glob pattern or Grep glob start at ``/`` or ``~``, climb with
    ``..``, or lead with literal directories (``dl/*``) that do so from the search's base?
    ``gemini``: the payload uses Gemini CLI's names (``is_candidate``)."""
    values = [v for key in (_GEMINI_PATH_KEYS if gemini else _PATH_KEYS) for v in _values(data, key)]
    cwds = _values(data, b'"cwd"')
    cwd = cwds[0].decode("utf-8", "surrogateescape") if cwds and cwds[0] else None
    globs: list[bytes | None] = []
    if gemini:
        glob_tool = b'"glob"' in data
        searching = glob_tool or b'"grep_search"' in data
        glob_keys = (b'"include_pattern"', b'"pattern"') if glob_tool else (b'"include_pattern"',)
    else:
        searching = b'"Grep"' in data or b'"Glob"' in data
        glob_keys = (b'"glob"', b'"pattern"') if b'"Glob"' in data else (b'"glob"',)
    if searching:
        if not values and cwds:
            values.append(cwds[0])
        globs = [v for key in glob_keys for v in _values(data, key)]
    for value in values:
        if value is None:
            return True
        path = value.decode("utf-8", "surrogateescape")
        if path.startswith("/proc/"):
            return True  # `/proc/self/cwd/..`: the tool's process, not this one (full check: paths.proc_self)
        if path.startswith("~"):
            path = os.path.expanduser(path)
        if not path.startswith("/"):
            if not cwd:
                return True
            path = cwd + "/" + path
        for glob in globs:
            if glob is None or glob[:1] in (b"/", b"~") or b".." in glob:
                return True
            lead = glob.decode("utf-8", "surrogateescape").split("/")[:-1]
            lead = lead[: next((k for k, seg in enumerate(lead) if any(c in seg for c in "*?[{\\!")), len(lead))]
            if lead and _reached(path + "/" + "/".join(lead), tops):
                return True
        if _reached(path, tops):
            return True
    return False


def _reached(path: str, tops: _Tops) -> bool:
    """``tops.reached`` by absolute ``path`` as spelled (squeezed), or, when a symlink on the way
    leads elsewhere, by its real path (compared with the real paths of the tops too)."""
    norm = _squeeze(path)
    if tops.reached(norm):
        return True
    real = os.path.realpath(path)
    return real != norm and (tops.reached(real) or tops.reached(real, real=True))


#: Programs that walk a tree, take or build the names they open at run time, or run an inline
#: program (a superset of lakeloop.memory.reach's WALKERS, COMPUTING and INTERPRETERS).
_TRIGGERS = frozenset(
    b"find tree du rg ag ack ack-grep ugrep rgrep fd fdfind tar bsdtar zip 7z 7za cpio pax rsync "
    b"scp rclone restic borg xargs parallel eval source . read mapfile readarray sh bash zsh "
    b"dash ksh mksh yash fish csh tcsh busybox tclsh wish Rscript osascript pwsh powershell "
    b"jshell groovy scala julia deno bun awk gawk mawk nawk".split()
)
_TRIGGER_PREFIXES = (b"python", b"pypy", b"perl", b"ruby", b"php", b"lua", b"node")
#: Bytes that name the home directory in a shell or an interpreter (besides a word starting with `~`).
_HOME_BYTES = (
    b"HOME",
    b"USERPROFILE",
    b"expanduser",
    b"expand_path",
    b"getpw",
    b"passwd",
    b"homedir",
    b".home",
    b"'home'",
    b'\\"home\\"',
    b"OLDPWD",
    b"${PWD",
    b"dirname",
)
#: How `_reaches_unnamed` cuts a command into segments (simple commands) and then words.
_SEGMENT = bytes.maketrans(b";&|(){}<>`", b"\n" * 10)
_WORD = bytes.maketrans(b"=:,+", b"    ")


def _reaches_unnamed(region: bytes, data: bytes, tops: _Tops) -> bool:
    """May the Bash command in ``region`` (its tool_input's JSON text) reach a guarded path
    without naming it (``lakeloop.memory.reach``)? True when it both walks a tree or computes
    names (a walker, a recursive option, ``xargs``, ``-exec``, a substitution, an interpreter)
    and is at or names a directory at or above a guarded path: the payload's cwd, a bare ``cd``,
    a word starting with ``~``, ``HOME``, ``..``, ``/``, ``//``, such a directory spelled out or
    globbed, ``expanduser`` and the like."""
    text = _command_text(region).replace(b"\\n", b"\n").replace(b"\\t", b" ")
    substitution = b"$(" in text or b"`" in text or b"<(" in text or b">(" in text
    segments = [seg.split() for seg in text.translate(None, b"'\"\\").translate(_SEGMENT).split(b"\n")]
    words = [w for seg in segments for word in seg for w in word.translate(_WORD).split()]
    base = {w.rsplit(b"/", 1)[-1] for w in words}
    if not (
        substitution
        or base & _TRIGGERS
        or any(w.startswith(_TRIGGER_PREFIXES) for w in base)
        or {b"git", b"grep"} <= base
        or _recursive_option(words, base)
    ):
        return False
    if any(h in text for h in _HOME_BYTES) or b"$'" in text:  # `$'\x2e\x2e'` spells anything
        return True
    for seg in segments:  # a bare `cd` goes home (also as the end of `sh -c 'cd; ...'`'s first segment)
        at = max((k for k, w in enumerate(seg) if w in (b"cd", b"pushd")), default=-1)
        if at >= 0 and all(w[:1] == b"-" for w in seg[at + 1 :]):
            return True
    above = tops.above
    for w in words:
        if w[:1] == b"~" or w == b".." or w.startswith(b"../") or b"/.." in w:
            return True
        if w[:1] == b"/":
            if b"//" in w or b"/./" in w or w.startswith(b"/proc/"):
                return True
            cut = min((w.find(c) for c in (b"*", b"?", b"[") if c in w), default=-1)
            if (w[:cut].rsplit(b"/", 1)[0] if cut >= 0 else w.rstrip(b"/.")) in above:
                return True
    cwds = _values(data, b'"cwd"')
    if not cwds or cwds[0] is None:
        return bool(cwds)
    return _squeeze(cwds[0].decode("utf-8", "surrogateescape")).rstrip("/").encode("utf-8", "surrogateescape") in above


def _command_text(region: bytes) -> bytes:
    """The JSON text (escapes kept) of the ``command`` string in ``region``, else ``region``."""
    at = region.find(b'"command"')
    start = region.find(b'"', region.find(b":", at + 9) + 1) if at >= 0 else -1
    j = start + 1
    while start > 0:
        j = region.find(b'"', j)
        if j < 0:
            break
        k = j
        while region[k - 1 : k] == b"\\":
            k -= 1
        if (j - k) % 2 == 0:
            return region[start + 1 : j]
        j += 1
    return region


def _recursive_option(words: list[bytes], base: set[bytes]) -> bool:
    """A recursive option among ``words``: ``-r``/``-R`` in a cluster, ``--recursive``,
    ``recurse``; ``-a``/``--archive`` when cp, rsync or scp is there."""
    archive = bool(base & {b"cp", b"rsync", b"scp"})
    for w in words:
        if w[:1] == b"-":
            if w[1:2] != b"-":
                if b"r" in w or b"R" in w or (archive and b"a" in w):
                    return True
            elif w in (b"--recursive", b"--dereference-recursive") or (archive and w == b"--archive"):
                return True
        elif w == b"recurse":
            return True
    return False


def _names(root: str, creds: str) -> tuple[list[bytes], bool]:
    """The byte strings ``is_candidate`` looks for, and whether a configured path has no
    hidden component (then a glob can reach it without a ``_HIDDEN`` marker)."""
    names = [b"memory-answers", b"credentials.json"]
    visible = False
    if not root or ".deeplake" in root:
        names.append(b"deeplake")
    if root:
        names.append(root.rsplit("/", 1)[-1].encode("utf-8", "surrogateescape"))
        visible = not any(c.startswith(".") for c in root.split("/"))
    if creds:  # every name below the home directory (or the last two): `cat ~/secrets/*` names `secrets`
        home = os.path.expanduser("~").rstrip("/")
        full = os.path.normpath(os.path.expanduser(creds))
        below = full[len(home) + 1 :] if full.startswith(home + "/") else full
        parts = [c for c in below.split("/") if c]
        if not full.startswith(home + "/"):
            parts = parts[-2:]
        names += [c.encode("utf-8", "surrogateescape") for c in parts]
        visible = visible or not any(c.startswith(".") for c in parts)
    return names, visible


#: Bytes one of which a command must hold for an expansion to reach a hidden directory such as
#: ``~/.deeplake`` without spelling it: a dot starting a path component (``~/.d*``, `` .d*``,
#: ``{.,x}``, ``D=.d*``), or a command substitution (which can compute anything).
_HIDDEN = (
    b"/.",
    b" .",
    b"{.",
    b",.",
    b"=.",
    b'".',
    b"\t.",
    b";.",
    b"&.",
    b"|.",
    b"$(",
    b"`",
    b"dotglob",
    b"GLOBIGNORE",
    b"extglob",
)


def _expands(region: bytes, visible: bool = False) -> bool:
    """True when a payload's tool input (``region``, its JSON text) may hold a shell expansion
    that reaches a hidden directory: ``* ? [ $`` or a brace that does not open a JSON object
    (``{a,b}``; JSON text writes objects as ``{"``), together with a ``_HIDDEN`` marker. (``*``
    does not match a leading dot, so ``~/*/memory`` cannot reach ``~/.deeplake``.) With
    ``visible`` (a configured memory root or credentials path without a hidden component) a ``/``
    is marker enough."""
    if not (any(c in region for c in _EXPANSION) or region.count(b"{") > region.count(b'{"') + region.count(b"{}")):
        return False
    return any(h in region for h in _HIDDEN) or (visible and b"/" in region)
