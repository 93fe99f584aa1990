"""Finding an agent's CLI and its version (``Agent.find_binary`` / ``Agent.version``).

``find(setting, name, usual)``: the path named by the setting ``setting`` (``LAKELOOP_CODEX_BIN``)
when set, else ``name`` on PATH, else the first of ``usual`` (``~`` expanded) that is an executable
file; None otherwise. ``version(binary, package)``: the bare version (``"0.169.0"``): read from the
npm package's ``package.json`` when ``binary`` resolves into the package ``package`` (no process
started: Gemini's CLI takes seconds to print its version), else parsed from ``binary --version``
(bounded to ``VERSION_TIMEOUT_S``); None when neither works.
"""

from __future__ import annotations

import os

#: bound of one ``--version`` run, seconds
VERSION_TIMEOUT_S = 10.0


def find(setting: str, name: str, usual: tuple[str, ...] = ()) -> str | None:
    """See the module docstring."""
    import shutil

    override = os.environ.get(setting, "").strip()
    if override:
        return override
    found = shutil.which(name)
    if found:
        return found
    for candidate in usual:
        path = os.path.expanduser(candidate)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def npm_places(name: str) -> tuple[str, ...]:
    """Where ``npm install -g`` usually puts the command ``name`` (a user prefix, /usr/local,
    Homebrew's prefix)."""
    return (f"~/.npm-global/bin/{name}", f"/usr/local/bin/{name}", f"/opt/homebrew/bin/{name}")


def _parse(text: str) -> str | None:
    import re

    match = re.search(r"\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?", text)
    return match.group(0) if match else None


def _from_package(binary: str, package: str) -> str | None:
    """The ``version`` of the npm package ``package`` whose directory holds ``binary``'s target."""
    import json

    here = os.path.dirname(os.path.realpath(binary))
    for _ in range(4):
        try:
            with open(os.path.join(here, "package.json"), encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict) and data.get("name") == package and isinstance(data.get("version"), str):
            return _parse(data["version"])
        here = os.path.dirname(here)
    return None


def version(binary: str, package: str | None = None) -> str | None:
    """See the module docstring. ``binary --version`` runs in its own session (process group),
    and the whole group is killed when it outlives ``VERSION_TIMEOUT_S`` (an npm launcher's
    grandchildren included); its output is read as UTF-8 with undecodable bytes replaced. Never
    raises."""
    if package:
        found = _from_package(binary, package)
        if found:
            return found
    out = _run_bounded([binary, "--version"], VERSION_TIMEOUT_S)
    if out is None:
        return None
    return _parse(out[0]) or _parse(out[1])


def _run_bounded(argv: list[str], timeout_s: float) -> tuple[str, str] | None:
    """``(stdout, stderr)`` of ``argv`` run with no stdin in a new session, decoded as UTF-8 with
    undecodable bytes replaced; None when it cannot start, exits non-zero or outlives
    ``timeout_s`` seconds (then its process group is killed)."""
    import signal
    import subprocess

    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
        )
    except (OSError, ValueError):
        return None
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
        try:
            proc.communicate(timeout=1.0)
        except (subprocess.TimeoutExpired, OSError, ValueError):
            proc.kill()  # a descendant left the group and holds the pipes: stop waiting for it
            proc.wait()
        return None
    if proc.returncode != 0:
        return None
    return out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
