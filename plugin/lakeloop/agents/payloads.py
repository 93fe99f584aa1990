"""Pure helpers that turn Codex CLI and Gemini CLI hook payloads into Claude-shaped ones.

Each function takes a native payload dict (hostile: any JSON object) and returns a new dict;
the input is never changed and nothing raises on odd shapes (a field of the wrong type is
passed through as it is, and the caller's validation logs it).

* ``codex_payload``: Codex's names equal Claude Code's; ``turn_id`` and ``model`` are dropped
  (not in Claude Code's schema). ``tool_response`` stays a plain string (the row stores it as
  JSON text, as it does any value).
* ``gemini_payload``: BeforeAgent -> ``prompt`` without the SessionStart context Gemini puts in
  front of it (``strip_hook_context``); AfterAgent -> ``last_assistant_message`` :=
  ``prompt_response``; BeforeTool -> Gemini's tools mapped to canonical ones, their paths
  resolved as Gemini resolves them (``gemini_tool``); AfterTool keeps the native tool name,
  input and response (the row says what the agent did).

Import-light (hook processes): ``os`` and ``posixpath`` only (loaded by Python's start-up); ``re``
loads only for a ``grep_search`` with ``fixed_strings``.
"""

from __future__ import annotations

import os
import posixpath

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from typing import Any

#: Gemini's opening and closing tags around the SessionStart context it puts in front of the prompt
HOOK_CONTEXT_OPEN = "<hook_context>"
HOOK_CONTEXT_CLOSE = "</hook_context>"
#: Codex payload keys that Claude Code's schema does not have
CODEX_DROPPED = ("turn_id", "model")


def codex_payload(canonical_event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Codex CLI payload -> canonical payload: a copy without ``CODEX_DROPPED`` keys."""
    return {k: v for k, v in payload.items() if k not in CODEX_DROPPED}


def strip_hook_context(prompt: str) -> str:
    """The user's own text of a Gemini BeforeAgent ``prompt``: when it starts with
    ``<hook_context>`` and holds ``</hook_context>``, everything through the first closing tag
    and then one ``\\n\\n`` is cut. Gemini escapes ``<`` and ``>`` inside the context, so the first
    closing tag is the real one. Any other prompt is returned as written."""
    if not prompt.startswith(HOOK_CONTEXT_OPEN):
        return prompt
    end = prompt.find(HOOK_CONTEXT_CLOSE)
    if end < 0:
        return prompt
    rest = prompt[end + len(HOOK_CONTEXT_CLOSE) :]
    return rest[2:] if rest.startswith("\n\n") else rest


def gemini_payload(canonical_event: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Gemini CLI payload -> canonical payload for ``canonical_event`` (see the module docstring)."""
    out = dict(payload)
    if canonical_event == "UserPromptSubmit":
        prompt = out.get("prompt")
        if isinstance(prompt, str):
            out["prompt"] = strip_hook_context(prompt)
    elif canonical_event == "Stop":
        out["last_assistant_message"] = out.pop("prompt_response", "")
        out.pop("prompt", None)  # the turn's prompt is already stored by BeforeAgent
    elif canonical_event == "PreToolUse":
        name, tool_input, cwd = gemini_tool(out.get("tool_name"), out.get("tool_input"), out.get("cwd"))
        out["tool_name"], out["tool_input"] = name, tool_input
        if cwd is not None:
            out["cwd"] = cwd
    return out


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


#: A Gemini tool argument lakeloop cannot read as a path (``_gemini_dir``): the canonical input
#: becomes this text, which the memory check refuses as an input it cannot check (fail closed)
UNREADABLE_PATH = "<a Gemini tool call whose directory argument cannot be read as a path>"


def resolve(cwd: Any, path: str) -> str | None:
    """Node's ``path.resolve(cwd, path)``, as Gemini CLI resolves its tools' paths: ``path``
    joined to ``cwd`` when relative, then ``.``, ``..`` and repeated ``/`` folded lexically (no
    symlink followed; a leading ``//`` is ``/``). None when ``path`` is relative and ``cwd`` is not
    an absolute path."""
    if not path.startswith("/"):
        if not isinstance(cwd, str) or not cwd.startswith("/"):
            return None
        path = cwd + "/" + path
    return "/" + posixpath.normpath(path).lstrip("/")


def _gemini_dir(cwd: Any, dir_path: Any) -> tuple[bool, str | None]:
    """``(readable, absolute directory or None)`` of a Gemini tool's ``dir_path``: absent or
    falsy as JavaScript reads it (None, ``""``, 0, false: the tool uses the workspace) ->
    ``(True, None)``; a string -> ``(True, resolve(cwd, dir_path))``; anything else (another type,
    a NUL byte, a relative path without an absolute ``cwd``) -> ``(False, None)``: the caller
    fails closed."""
    if dir_path is None or (not isinstance(dir_path, (list, dict)) and dir_path in ("", 0)):
        return True, None
    if not isinstance(dir_path, str) or "\0" in dir_path:
        return False, None
    resolved = resolve(cwd, dir_path)
    return resolved is not None, resolved


def gemini_file(cwd: Any, file_path: Any) -> Any:
    """The path Gemini CLI's ``read_file``, ``write_file`` and ``replace`` open for ``file_path``
    (its ``resolveDefensiveToolPath``, then ``path.resolve`` from ``cwd``): NUL bytes removed; a
    leading ``@`` dropped (with the ``/`` after it) unless the path exists as written or its
    first segment with the ``@`` does; the result absolute and folded (``resolve``). A path
    starting with ``~`` is returned as written after those steps (the memory check reads it as the
    home directory's, the conservative reading); a value that is not a string, or a relative path
    without an absolute ``cwd``, is returned as it is (the memory check reads it as given)."""
    if not isinstance(file_path, str):
        return file_path
    clean = file_path.replace("\0", "")
    literal = resolve(cwd, clean)
    if clean.startswith("@") and len(clean) > 1 and not (literal and os.path.exists(literal)):
        stripped = clean[1:].lstrip("/\\")
        if clean[1] in "/\\":
            clean = stripped or clean
        else:
            first = stripped.replace("\\", "/").split("/", 1)[0]
            at_first = resolve(cwd, "@" + first)
            if first and not (at_first and os.path.exists(at_first)):
                clean = stripped
    if clean.startswith("~"):
        return clean
    return resolve(cwd, clean) or clean


#: Gemini CLI tool -> the canonical tool it becomes in PreToolUse (``gemini_tool``)
GEMINI_TOOLS = {
    "run_shell_command": "Bash",
    "read_file": "Read",
    "list_directory": "Read",
    "glob": "Glob",
    "grep_search": "Grep",
    "read_many_files": "Glob",
    "write_file": "Write",
    "replace": "Edit",
    "activate_skill": "Skill",
}


def gemini_tool(name: Any, tool_input: Any, cwd: Any) -> tuple[Any, Any, str | None]:
    """``(canonical tool name, canonical tool input, cwd or None)`` of a Gemini BeforeTool call.

    Paths are resolved as Gemini CLI resolves them (``resolve``, ``gemini_file``), so the memory
    check sees the place the tool will really use, never a spelling with ``..`` in it:
    ``run_shell_command{command, dir_path}`` -> ``Bash{command}`` with the cwd set to the resolved
    ``dir_path``; ``read_file{file_path, start_line, end_line}`` -> ``Read{file_path, offset,
    limit}``; ``list_directory{dir_path}`` -> ``Read{file_path: dir}``; ``glob{pattern,
    dir_path}`` -> ``Glob{pattern, path}``; ``grep_search{...}`` -> ``Grep{...}``;
    ``read_many_files{include}`` -> ``Glob{pattern: [include, ...]}`` (each include a glob from the
    cwd, ``\\`` read as ``/`` as Gemini does: the memory check checks every one as a Glob, and a
    refusal of any is a refusal); ``write_file`` -> ``Write``; ``replace`` -> ``Edit``;
    ``activate_skill{name}`` -> ``Skill{skill}`` (``GEMINI_TOOLS``). A ``dir_path`` that cannot be
    read as a path (``_gemini_dir``) makes the input the text ``UNREADABLE_PATH``, and an input that
    is not an object keeps its value, each under the canonical name: the memory check refuses an
    input it cannot check. Any other tool is returned unchanged (cwd None)."""
    if not isinstance(name, str):
        return name, tool_input, None
    if not isinstance(tool_input, dict):  # e.g. an over-large input boundedjson kept as cut text:
        return GEMINI_TOOLS.get(name, name), tool_input, None  # the canonical name, so it is refused
    ti = tool_input
    readable, directory = _gemini_dir(cwd, ti.get("dir_path"))
    if not readable and name in ("run_shell_command", "list_directory", "glob", "grep_search"):
        return GEMINI_TOOLS[name], UNREADABLE_PATH, None
    if name == "run_shell_command":
        return "Bash", {"command": ti.get("command")}, directory
    if name == "read_file":
        mapped: dict[str, Any] = {"file_path": gemini_file(cwd, ti.get("file_path"))}
        start, end = _int(ti.get("start_line")), _int(ti.get("end_line"))
        if start is not None:
            mapped["offset"] = start
            if end is not None and end >= start:
                mapped["limit"] = end - start + 1
        return "Read", mapped, None
    if name == "list_directory":
        return "Read", {"file_path": directory or resolve(cwd, ".")}, None
    if name == "glob":
        mapped = {"pattern": ti.get("pattern")}
        if directory is not None:
            mapped["path"] = directory
        return "Glob", mapped, None
    if name == "grep_search":
        return "Grep", _grep_input(ti, directory), None
    if name == "read_many_files":
        include = ti.get("include")
        items = [include] if isinstance(include, str) else include if isinstance(include, list) else []
        return "Glob", {"pattern": [i.replace("\\", "/") if isinstance(i, str) else i for i in items]}, None
    if name == "write_file":
        return "Write", {"file_path": gemini_file(cwd, ti.get("file_path")), "content": ti.get("content")}, None
    if name == "replace":
        mapped = {"file_path": gemini_file(cwd, ti.get("file_path"))}
        for key in ("old_string", "new_string"):
            if key in ti:
                mapped[key] = ti[key]
        return "Edit", mapped, None
    if name == "activate_skill":
        return "Skill", {"skill": ti.get("name")}, None
    return name, tool_input, None


def _grep_input(ti: dict[str, Any], directory: str | None) -> dict[str, Any]:
    """Gemini ``grep_search``'s input as Claude Code's ``Grep`` input: ``pattern`` (escaped when
    ``fixed_strings``), ``path`` (``directory``: the resolved ``dir_path``), ``glob``
    (``include_pattern``), ``output_mode`` (``files_with_matches`` for ``names_only``), ``-i`` (not
    ``case_sensitive``), ``-A``/``-B``/``-C`` (``after``/``before``/``context``), ``-n``."""
    pattern = ti.get("pattern")
    if ti.get("fixed_strings") is True and isinstance(pattern, str):
        import re

        pattern = re.escape(pattern)
    mapped: dict[str, Any] = {"pattern": pattern, "-n": True}
    if directory is not None:
        mapped["path"] = directory
    if ti.get("include_pattern") is not None:
        mapped["glob"] = ti.get("include_pattern")
    mapped["output_mode"] = "files_with_matches" if ti.get("names_only") is True else "content"
    mapped["-i"] = ti.get("case_sensitive") is not True
    for native, flag in (("after", "-A"), ("before", "-B"), ("context", "-C")):
        count = _int(ti.get(native))
        if count is not None:
            mapped[flag] = count
    return mapped
