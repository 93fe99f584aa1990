"""Where lakeloop keeps its files.

* data dir: ``LAKELOOP_DATA_DIR``, else platformdirs' user data dir
  (``~/.local/share/lakeloop`` on Linux). Holds the embedded store, pending
  judgment windows, locks, worker jobs, the pull manifest and dedup records.
* log dir: ``LAKELOOP_LOG_DIR``, else platformdirs' user log dir
  (``~/.local/state/lakeloop/log`` on Linux).
* skills root: ``LAKELOOP_SKILLS_DIR``, else ``~/.claude/skills``.
* ``LAKELOOP_HOME``: one directory for all three, as ``data/``, ``log/`` and ``skills/`` under
  it (the variables above still win for their own directory). ``lakeloop demo --keep`` prints it.
* the plugin's own virtualenv (``plugin_venv``), which ``hooks/bootstrap.py`` builds on first
  use, and its state (``lakeloop.cli.status.plugin_env_state``), for ``lakeloop status``.

The data and log directories are private: ``private_dir`` creates them 0700
(and narrows an older, wider one), and every file lakeloop creates in them is 0600
(explicit modes, and ``os.umask(0o077)`` in every lakeloop process). Pulled skills under
the skills root are the agent's files, not lakeloop's private data: SKILL.md is 0644.

platformdirs is imported lazily and only when no override is set. Importing it
costs ~16 ms, a third of a hook, so its answers are cached in ``lakeloop-dirs.txt``,
keyed by the variables they depend on (HOME and the XDG variables), and
recomputed whenever one of those changes. The cache lives in ``$CLAUDE_PLUGIN_DATA``
inside Claude Code, else in the user cache directory, found by the XDG rules without
platformdirs (``$XDG_CACHE_HOME/lakeloop``, ``~/.cache/lakeloop``; on macOS
``~/Library/Caches/lakeloop``): Codex CLI's and Gemini CLI's hooks, which get no plugin data
directory, pay the import once too. The launcher may run before the
plugin's virtualenv exists (system python3, no platformdirs): then the same
locations are derived from the XDG rules platformdirs follows, so a log line is
never lost for want of a library.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    from pathlib import Path

APP = "lakeloop"
_CACHE_KEYS = ("HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME")


def _path(text: str) -> Path:
    from pathlib import Path

    return Path(text)


def _dirs_cache_dir() -> str:
    """Where ``lakeloop-dirs.txt`` lives (see the module docstring); "" when HOME is unknown."""
    plugin_data = os.environ.get("CLAUDE_PLUGIN_DATA", "").strip()
    if plugin_data:
        return plugin_data
    home = os.path.expanduser("~")
    if not os.path.isabs(home):
        return ""
    if sys.platform == "darwin":
        return os.path.join(home, "Library", "Caches", APP)
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return os.path.join(xdg if os.path.isabs(xdg) else os.path.join(home, ".cache"), APP)


def _platform_dir(kind: str) -> str:
    cache_dir = _dirs_cache_dir()
    if not cache_dir:
        return _compute(kind)
    cache = os.path.join(cache_dir, "lakeloop-dirs.txt")
    key = "\x1f".join(os.environ.get(k, "") for k in _CACHE_KEYS)
    try:
        with open(cache, encoding="utf-8") as fh:
            cached_key, data, log = fh.read().split("\n")[:3]
        if cached_key == key and data and log:
            return data if kind == "data" else log
    except (OSError, ValueError):
        pass
    data, log = _compute("data"), _compute("log")
    try:
        os.makedirs(cache_dir, mode=0o700, exist_ok=True)
        tmp = f"{cache}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(f"{key}\n{data}\n{log}\n")
        os.replace(tmp, cache)
    except OSError:
        pass
    return data if kind == "data" else log


def _compute(kind: str) -> str:
    try:
        import platformdirs

        if kind == "data":
            return platformdirs.user_data_dir(APP, appauthor=False)
        return platformdirs.user_log_dir(APP, appauthor=False)
    except ImportError:
        home = os.path.expanduser("~")
        if sys.platform == "darwin":
            base = os.path.join(home, "Library")
            return os.path.join(base, "Application Support", APP) if kind == "data" else os.path.join(base, "Logs", APP)
        if kind == "data":
            return os.path.join(os.environ.get("XDG_DATA_HOME") or os.path.join(home, ".local", "share"), APP)
        return os.path.join(os.environ.get("XDG_STATE_HOME") or os.path.join(home, ".local", "state"), APP, "log")


#: Modes of what lakeloop creates in its data and log directories: private to the user.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
_private_checked: set[str] = set()


def private_dir(path: str | os.PathLike) -> None:
    """Make sure directory ``path`` exists with mode 0700: missing directories (and missing
    parents) are created 0700; an existing ``path`` that grants group or others any access is
    narrowed to 0700, unless it is shared by nature (sticky bit, like /tmp), the home
    directory or ``/``, or not ours. Checked once per path per process. Raises OSError when
    it cannot be created (a failed chmod is ignored)."""
    key = os.path.abspath(os.fspath(path))
    if key in _private_checked:
        return
    missing = []
    probe = key
    while not os.path.isdir(probe):
        missing.append(probe)
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, PRIVATE_DIR_MODE)
        except FileExistsError:
            if not os.path.isdir(directory):
                raise
    if not missing:
        try:
            st = os.stat(key)
            shared = st.st_mode & 0o1000 or key in ("/", os.path.expanduser("~")) or st.st_uid != os.geteuid()
            if st.st_mode & 0o077 and not shared:
                os.chmod(key, PRIVATE_DIR_MODE)
        except OSError:
            pass
    _private_checked.add(key)


def private_file(path: str | os.PathLike) -> None:
    """Narrow an existing file lakeloop made (store, log) to 0600 when group or others have
    any access (a file from an older lakeloop). Missing files and failures are ignored."""
    try:
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, PRIVATE_FILE_MODE)
    except OSError:
        pass


def _home_part(name: str) -> str:
    """``$LAKELOOP_HOME/name`` when ``LAKELOOP_HOME`` is set, else ``""``."""
    home = os.environ.get("LAKELOOP_HOME", "").strip()
    return os.path.join(os.path.expanduser(home), name) if home else ""


def data_dir_str() -> str:
    """``data_dir()`` as a string, without importing pathlib (the capture hooks' fast path)."""
    override = os.environ.get("LAKELOOP_DATA_DIR", "").strip()
    return os.path.expanduser(override) if override else _home_part("data") or _platform_dir("data")


def data_dir() -> Path:
    """Root of all local state (``LAKELOOP_DATA_DIR``, then ``LAKELOOP_HOME``, override)."""
    return _path(data_dir_str())


def log_dir() -> Path:
    """Directory of ``lakeloop.log`` (``LAKELOOP_LOG_DIR``, then ``LAKELOOP_HOME``, override)."""
    override = os.environ.get("LAKELOOP_LOG_DIR", "").strip()
    return _path(os.path.expanduser(override) if override else _home_part("log") or _platform_dir("log"))


def log_file() -> Path:
    """The rotating log file every hook and the worker write to."""
    return log_dir() / "lakeloop.log"


def skills_root() -> Path:
    """Where pulled org skills are written (``LAKELOOP_SKILLS_DIR``, then ``LAKELOOP_HOME``, override)."""
    override = os.environ.get("LAKELOOP_SKILLS_DIR", "").strip()
    if override:
        return _path(os.path.expanduser(override))
    return _path(_home_part("skills") or os.path.join(os.path.expanduser("~"), ".claude", "skills"))


def store_file() -> Path:
    """The embedded SQLite store."""
    return data_dir() / "store.sqlite3"


def pending_dir() -> Path:
    """One file per session with an open judgment window."""
    return data_dir() / "pending"


def skillify_state_file() -> Path:
    """skillify's local state: ``{"last_enqueued_at": epoch s, "seen": [fingerprints]}``; its lock
    is the same path with ``.lock`` appended."""
    return data_dir() / "skillify.json"


def locks_dir() -> Path:
    """Per-skill worker leases and their guard locks."""
    return data_dir() / "locks"


def jobs_dir() -> Path:
    """The job queue's directory (``lakeloop.jobs``): ``queue.db`` (with its ``-wal`` and ``-shm``),
    ``.runner.lock``, the ``wake`` FIFO and ``.due``; older lakeloop versions left worker job
    files (``reaction-<event id>.json``, mode 0600: the user's reaction text) here too."""
    return data_dir() / "jobs"


def jobs_dir_str() -> str:
    """``jobs_dir()`` as a string, without importing pathlib (hook paths)."""
    return os.path.join(data_dir_str(), "jobs")


def jobs_db() -> str:
    """The job queue's SQLite database, ``<data dir>/jobs/queue.db`` (0600, WAL)."""
    return os.path.join(jobs_dir_str(), "queue.db")


def jobs_runner_lock() -> str:
    """The job runner's lock file, ``<data dir>/jobs/.runner.lock``: one runner per data dir."""
    return os.path.join(jobs_dir_str(), ".runner.lock")


def jobs_wake_fifo() -> str:
    """The FIFO a live job runner waits on, ``<data dir>/jobs/wake``: an enqueue writes one byte."""
    return os.path.join(jobs_dir_str(), "wake")


def jobs_due_file() -> str:
    """``<data dir>/jobs/.due``: its mtime is the queue's next deadline (epoch seconds); missing
    when nothing is queued or held."""
    return os.path.join(jobs_dir_str(), ".due")


def attempts_dir() -> Path:
    """Append-only dedup records of proposed edit sets, one file per skill."""
    return data_dir() / "attempts"


def manifest_file(agent: str = "claude") -> Path:
    """The pull manifest of one agent's skills directory: which org skills were pulled there, at
    which version. Claude Code's is ``<data dir>/pulled-skills.json`` (unchanged); another
    agent's is ``<data dir>/pulled-skills-<agent>.json``."""
    if agent == "claude":
        return data_dir() / "pulled-skills.json"
    return data_dir() / f"pulled-skills-{agent}.json"


def agent_hooks_dir() -> Path:
    """``<data dir>/agent-hooks``: the hook launcher copy (``hooks/run``, ``hooks/entry.py``) that
    Codex CLI and Gemini CLI hooks run by absolute path (they set no plugin root)."""
    return data_dir() / "agent-hooks"


def agents_registry_file() -> Path:
    """``<data dir>/agents.json``: which agents ``lakeloop install`` installed into (other than
    Claude Code), each with its config file and skills directory."""
    return data_dir() / "agents.json"


def plugin_venv_lock(venv: str) -> str:
    """The build lock of the plugin's virtualenv at ``venv`` (``<venv>.lock``): held by the one
    process building it, and holding that build's state line (``lakeloop.cli.status.plugin_env_state``)."""
    return venv + ".lock"


def plugin_venv_record() -> str:
    """The file (in the data dir) where the last build wrote the path of the plugin's virtualenv."""
    return os.path.join(data_dir_str(), "plugin-venv")


def plugin_venv() -> str | None:
    """Path of the plugin's own virtualenv: ``$CLAUDE_PLUGIN_DATA/venv`` inside Claude Code,
    else the one the last build recorded (``plugin_venv_record``), else None."""
    plugin_data = os.environ.get("CLAUDE_PLUGIN_DATA", "").strip()
    if plugin_data:
        return os.path.join(plugin_data, "venv")
    try:
        with open(plugin_venv_record(), encoding="utf-8") as fh:
            return fh.readline().strip() or None
    except OSError:
        return None
