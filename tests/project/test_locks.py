"""``lakeloop.locks``, the one lock module: real file locks held by real processes.

A holder is a separate Python process that takes a lock and reports it on stdout, then waits on
its stdin; the test never sleeps to synchronise: it reads the holder's report (bounded by
``WAIT``), or awaits a condition with a deadline. A source test checks that no other module of
the package imports ``fcntl`` or ``filelock``.
"""

from __future__ import annotations

import ast
import os
import selectors
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from lakeloop import locks
from lakeloop.errors import LakeloopError
from lakeloop.locks import LockTimeout
from tests.support.repo import PLUGIN_SRC
from tests.support.waiting import wait_until

WAIT = 10.0  # bound on every wait for a holder's report (a hang fails instead of blocking)

#: ``python -c HOLDER <lock file> <plain|fork>``. plain: take the lock, print "held <pid>", wait
#: for a stdin line, release, print "released", wait for a line. fork: take the lock, fork a
#: child that inherits the descriptor and waits on stdin, close the parent's copy, print
#: "held <child pid>" and exit (the child alone holds the lock, as the forked drainer does).
HOLDER = r"""
import os, sys
from lakeloop import locks

path, how = sys.argv[1], sys.argv[2]
fd = locks.try_lock(path)
if fd is None:
    print("busy", flush=True)
    sys.exit(1)
if how == "fork":
    pid = os.fork()
    if pid == 0:
        sys.stdin.readline()
        os._exit(0)
    locks.unlock(fd)
    print("held", pid, flush=True)
    sys.exit(0)
print("held", os.getpid(), flush=True)
sys.stdin.readline()
locks.unlock(fd)
print("released", flush=True)
sys.stdin.readline()
"""


class Holder:
    """One holder process (see ``HOLDER``); ``pid`` is the process holding the lock."""

    def __init__(self, path: Path, how: str = "plain") -> None:
        env = {**os.environ, "PYTHONPATH": str(PLUGIN_SRC)}
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(path), how],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        word, _, pid = self.line().partition(" ")
        assert word == "held", f"holder did not take the lock: {word!r}"
        self.pid = int(pid)

    def line(self) -> str:
        """The holder's next stdout line, waiting at most ``WAIT`` seconds."""
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(WAIT):
                raise AssertionError(f"no line from the holder within {WAIT} s")
        return self.proc.stdout.readline().strip()

    def send(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        """End the holder: kill the process started here if it still runs, close its stdin
        (a forked child waiting on it then exits) and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=WAIT)


@pytest.fixture
def lock_file(tmp_path) -> Path:
    return tmp_path / "locks" / "x.lock"


def test_a_lock_held_by_a_live_process_refuses_every_second_taker(lock_file):
    """While another live process holds the lock: ``try_lock`` gets None at once, ``is_held`` is
    True, ``wait_lock`` gives up after its timeout, and ``hold`` raises LockTimeout (a
    LakeloopError and a TimeoutError, so an OSError) after its timeout, not before."""
    holder = Holder(lock_file)
    try:
        assert locks.try_lock(lock_file) is None
        assert locks.is_held(lock_file)
        started = time.monotonic()
        assert locks.wait_lock(lock_file, 0.3) is None
        assert time.monotonic() - started >= 0.3
        started = time.monotonic()
        with pytest.raises(LockTimeout) as info:
            with locks.hold(lock_file, timeout_s=0.4):
                pytest.fail("the body ran without the lock")
        waited = time.monotonic() - started
        assert 0.4 <= waited < 0.4 + WAIT, waited
        assert isinstance(info.value, LakeloopError) and isinstance(info.value, OSError)
        assert info.value.path == str(lock_file) and info.value.timeout_s == 0.4
        assert holder.proc.poll() is None, "the holder is still alive: the refusals were its lock's"
    finally:
        holder.close()


def test_a_waiter_gets_the_lock_as_soon_as_the_holder_lets_go(lock_file):
    """``hold`` with a long timeout returns once the holder releases, well before the timeout,
    and the holder cannot take it back while the body runs."""
    holder = Holder(lock_file)
    try:
        holder.send()  # release
        assert holder.line() == "released"
        started = time.monotonic()
        with locks.hold(lock_file, timeout_s=WAIT) as fd:
            assert time.monotonic() - started < WAIT
            assert isinstance(fd, int)
            busy = subprocess.run(
                [sys.executable, "-c", HOLDER, str(lock_file), "plain"],
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": str(PLUGIN_SRC)},
                timeout=WAIT,
            )
            assert busy.stdout.strip() == "busy" and busy.returncode == 1
        assert not locks.is_held(lock_file)
    finally:
        holder.close()


def test_a_holder_killed_with_sigkill_leaves_no_stale_lock(lock_file):
    """The kernel releases the lock when its holder dies: after SIGKILL the lock is free at once."""
    holder = Holder(lock_file)
    try:
        assert locks.try_lock(lock_file) is None
        os.kill(holder.pid, signal.SIGKILL)
        holder.proc.wait(timeout=WAIT)
        fd = locks.try_lock(lock_file)
        assert fd is not None, "a dead holder's lock was not released"
        locks.unlock(fd)
    finally:
        holder.close()


def test_a_forked_child_keeps_the_lock_its_parent_let_go(lock_file):
    """The drain lock's hand-over: a child forked while the lock is held keeps it after the
    parent closed its copy and exited; killing the child frees it."""
    holder = Holder(lock_file, "fork")
    try:
        assert holder.proc.wait(timeout=WAIT) == 0
        assert locks.is_held(lock_file), "the forked child should hold the lock alone"
        os.kill(holder.pid, signal.SIGKILL)
        wait_until(lambda: not locks.is_held(lock_file), WAIT, "the killed child's lock to be released")
    finally:
        holder.close()


def test_each_taking_excludes_the_others_in_one_process(lock_file):
    """Each taking opens its own descriptor: a second taking in the same process is refused
    like another process's (so threads exclude each other too), and the lock is not re-entrant."""
    fd = locks.try_lock(lock_file)
    assert fd is not None
    try:
        assert locks.try_lock(lock_file) is None
        with pytest.raises(LockTimeout):
            with locks.hold(lock_file, timeout_s=0):
                pass
    finally:
        locks.unlock(fd)
    fd = locks.try_lock(lock_file)
    assert fd is not None
    locks.unlock(fd)


def test_lock_files_are_private_and_never_followed_through_a_symlink(tmp_path, lock_file):
    """A new lock file is 0600 in a 0700 directory; a symlink at the lock's path is refused
    (OSError): an existing target is left untouched, a missing one is not created."""
    umask = os.umask(0o022)  # a permissive umask, so the modes seen are the module's own
    try:
        with locks.hold(lock_file, timeout_s=1):
            pass
    finally:
        os.umask(umask)
    assert stat.S_IMODE(lock_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(lock_file.parent.stat().st_mode) == 0o700
    target = tmp_path / "elsewhere"
    target.write_text("kept")
    link = lock_file.parent / "link.lock"
    link.symlink_to(target)
    with pytest.raises(OSError):
        locks.try_lock(link)
    assert target.read_text() == "kept"
    missing = tmp_path / "not-there"
    (lock_file.parent / "dangling.lock").symlink_to(missing)
    with pytest.raises(OSError):
        locks.try_lock(lock_file.parent / "dangling.lock")
    assert not missing.exists()


def test_a_lock_file_replaced_while_being_locked_is_locked_afresh(lock_file, monkeypatch):
    """Another process replaces the lock file (a rename over its path) between the taker's open
    and its lock: the taker lets go of the replaced file and holds the one now at the path. If
    the file is replaced at every try, the taker gives up with OSError instead of spinning."""
    real_flock = locks.fcntl.flock
    replacements = {"left": 1}

    def flock_then_replace(fd: int, operation: int) -> None:
        real_flock(fd, operation)
        if replacements["left"]:
            replacements["left"] -= 1
            fresh = lock_file.with_name("fresh")
            fresh.write_text("")
            os.replace(fresh, lock_file)

    monkeypatch.setattr(
        locks,
        "fcntl",
        SimpleNamespace(flock=flock_then_replace, LOCK_EX=locks.fcntl.LOCK_EX, LOCK_NB=locks.fcntl.LOCK_NB),
    )
    lock_file.parent.mkdir(mode=0o700)
    fd = locks.try_lock(lock_file)
    assert fd is not None and replacements["left"] == 0
    try:
        assert os.path.samestat(os.fstat(fd), lock_file.stat()), "the lock is held on a file no longer at the path"
    finally:
        locks.unlock(fd)
    replacements["left"] = locks.REOPEN_TRIES
    with pytest.raises(OSError, match="replaced"):
        locks.try_lock(lock_file)


# -- the one lock module ------------------------------------------------------------------------

LOCK_LIBRARIES = {"fcntl", "filelock"}
LOCKS_MODULE = PLUGIN_SRC / "lakeloop" / "locks.py"


def lock_imports(root: Path) -> list[str]:
    """``file:line name`` for every import of ``fcntl`` or ``filelock`` (or a submodule) in a
    ``.py`` file under ``root``: ``import``, ``from ... import`` and ``__import__`` or
    ``importlib.import_module`` with a literal name."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            elif (
                isinstance(node, ast.Call)
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and (
                    (isinstance(node.func, ast.Name) and node.func.id == "__import__")
                    or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
                )
            ):
                names = [node.args[0].value]
            found += [f"{path}:{node.lineno} {name}" for name in names if name.split(".")[0] in LOCK_LIBRARIES]
    return found


def test_only_the_locks_module_imports_a_lock_library():
    """No module of the package other than ``lakeloop/locks.py`` imports ``fcntl`` or ``filelock``."""
    found = lock_imports(PLUGIN_SRC / "lakeloop")
    elsewhere = [f for f in found if not f.startswith(f"{LOCKS_MODULE}:")]
    assert not elsewhere, "lock libraries imported outside lakeloop/locks.py:\n" + "\n".join(elsewhere)
    assert found, "the reader sees no import in locks.py itself: it cannot be trusted"


def test_the_source_rule_sees_every_kind_of_import(tmp_path):
    """Each way of importing a lock library is reported; a relative import of a package module
    named like one is not."""
    (tmp_path / "a.py").write_text("import fcntl\nfrom filelock import FileLock\nimport filelock.asyncio as x\n")
    (tmp_path / "b.py").write_text("def f():\n    import importlib\n    return importlib.import_module('fcntl')\n")
    (tmp_path / "c.py").write_text("__import__('filelock')\nfrom .fcntl import y\nimport os\n")
    assert [f.removeprefix(f"{tmp_path}/") for f in lock_imports(tmp_path)] == [
        "a.py:1 fcntl",
        "a.py:2 filelock",
        "a.py:3 filelock.asyncio",
        "b.py:3 fcntl",
        "c.py:1 filelock",
    ]
