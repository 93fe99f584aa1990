"""Private on disk: lakeloop's data and log directories are 0700 and every file
it creates in them is 0600; another user cannot read the store, the log or an outbox entry.

Two layers are tested apart: every lakeloop process sets ``umask 077`` (hooks/entry.py, the
hook and CLI mains; detached drainers and workers inherit it), and the code creates its files
and directories with explicit modes, so they are private even in a process that kept a 022
umask (a library caller, this test process). Pulled skills under the skills root are the
agent's files (SKILL.md 0644), not lakeloop's private data.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from lakeloop import paths
from tests.support.hooks import run_hook
from tests.support.payloads import first_payload
from tests.support.repo import PLUGIN_SRC
from tests.support.waiting import wait_until


@pytest.fixture
def shared_base(monkeypatch):
    """A base directory any user may traverse (0755 under /tmp; pytest's own tmp dir is 0700,
    which would make every read by another user fail whatever lakeloop does), with lakeloop's
    data, log and skills directories inside."""
    base = Path(tempfile.mkdtemp(prefix="lakeloop-modes-", dir="/tmp"))
    base.chmod(0o755)
    for name, sub in (("LAKELOOP_DATA_DIR", "data"), ("LAKELOOP_LOG_DIR", "log"), ("LAKELOOP_SKILLS_DIR", "skills")):
        monkeypatch.setenv(name, str(base / sub))
    yield base
    from lakeloop.outbox.lock import held_by_other

    if (base / "data" / "outbox").is_dir():  # let a lingering drainer finish before removing its files
        wait_until(lambda: not held_by_other(str(base / "data" / "outbox")), 30, "the drainer to exit")
    shutil.rmtree(base, ignore_errors=True)


def modes_under(*roots: Path) -> dict[str, str]:
    """``{path: "d 700" | "f 600"}`` of everything under ``roots`` (the roots included)."""
    out = {}
    for root in roots:
        for path in [root, *root.rglob("*")]:
            st = path.lstat()
            kind = "d" if stat.S_ISDIR(st.st_mode) else "l" if stat.S_ISLNK(st.st_mode) else "f"
            out[str(path)] = f"{kind} {stat.S_IMODE(st.st_mode):o}"
    return out


def wider(found: dict[str, str]) -> dict[str, str]:
    return {p: m for p, m in found.items() if m not in ("d 700", "f 600")}


def spool_one_entry() -> Path:
    """A capture event left waiting in the outbox by a real hook: the test holds the drain lock,
    so the hook only spools (a drainer "is running")."""
    from lakeloop import outbox
    from lakeloop.outbox.lock import unlock, wait_lock

    fd = wait_lock(outbox.outbox_dir(), 30)  # a drainer may still linger
    assert fd is not None
    try:
        run_hook("Stop", first_payload("Stop"))
    finally:
        unlock(fd)
    names = outbox.pending()
    assert names
    return Path(outbox.outbox_dir()) / names[0]


def can_read_as_nobody(path: Path) -> tuple[bool, str]:
    proc = subprocess.run(
        ["runuser", "-u", "nobody", "--", "cat", str(path)], capture_output=True, text=True, timeout=30
    )
    return proc.returncode == 0, proc.stderr


def test_a_real_session_leaves_only_private_files(shared_base, monkeypatch):
    """A team skill pushed, then the recorded Claude Code session through hooks/run (pull,
    capture, arming on the Skill call, a negative reaction starting the detached worker, which
    runs the scripted judge), then an event left in the outbox and a reader's WAL: every
    directory under the data and log dirs is 0700, every file 0600. The pulled SKILL.md is
    0644 (the agent's file)."""
    from lakeloop.skillopt.publish import push
    from tests.support.payloads import recorded_payloads

    agent = shared_base / "scripted-agent"
    agent.write_text(f'#!/bin/sh\nPYTHONPATH={PLUGIN_SRC} exec {sys.executable} -m lakeloop.demo_agent "$@"\n')
    agent.chmod(0o755)
    for name, value in (
        ("LAKELOOP_CLAUDE_BIN", str(agent)),
        ("LAKELOOP_INVOCATION_BACKOFF_S", "0.2"),
        ("LAKELOOP_USER", "dev"),
    ):
        monkeypatch.setenv(name, value)
    skill = shared_base / "authoring" / "db-migrate"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text("---\nname: db-migrate\n---\n1. Run `alembic upgrade head`.\n")
    push(skill, name="db-migrate", author="alice")
    for payload in recorded_payloads():
        run_hook(payload["hook_event_name"], payload)
    wait_until(lambda: "worker outcome=" in paths.log_file().read_text(), 60, "the worker's outcome")
    spool_one_entry()
    from lakeloop.store.embedded import EmbeddedStore

    with EmbeddedStore(paths.store_file()) as store:
        store.list_sessions()  # a reader: the -wal and -shm files exist while it is open
        found = modes_under(shared_base / "data", shared_base / "log")
        assert f"{paths.store_file()}-wal" in found and f"{paths.store_file()}-shm" in found
    assert wider(found) == {}
    made = {Path(p).relative_to(shared_base).parts[1] for p in found if len(Path(p).relative_to(shared_base).parts) > 1}
    assert {"store.sqlite3", "outbox", "pending", "jobs", "locks", "pulled-skills.json", "lakeloop.log"} <= made, made
    assert stat.S_IMODE((shared_base / "skills" / "db-migrate--alice" / "SKILL.md").stat().st_mode) == 0o644


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("runuser"), reason="needs root and runuser")
def test_another_user_cannot_read_the_store_the_log_or_an_outbox_entry(shared_base):
    """As user nobody, reading the store, the log and an outbox entry fails with permission denied,
    first because their directories are 0700, and still when those are opened up (0755), because
    the files are 0600. A 0644 file beside them is readable (the check itself works)."""
    run_hook("Stop", first_payload("Stop"))
    wait_until(lambda: paths.store_file().exists() and paths.log_file().exists(), 30, "store and log")
    entry = spool_one_entry()
    targets = [paths.store_file(), paths.log_file(), entry]
    for path in targets:
        readable, err = can_read_as_nobody(path)
        assert not readable and "Permission denied" in err, path
    for directory in (paths.data_dir(), entry.parent, paths.log_dir()):
        directory.chmod(0o755)
    for path in targets:
        readable, err = can_read_as_nobody(path)
        assert not readable and "Permission denied" in err, path
    control = paths.data_dir() / "control.txt"
    control.write_text("readable")
    control.chmod(0o644)
    assert can_read_as_nobody(control) == (True, "")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the umask from /proc")
def test_the_detached_drainer_runs_with_umask_077(shared_base):
    """The drainer a capture hook forks (and so any worker it starts) has umask 077."""
    run_hook("Stop", first_payload("Stop"), LAKELOOP_DRAIN_LINGER_S="10")
    lock = os.path.realpath(os.path.join(paths.data_dir(), "outbox", ".drain.lock"))

    def drainer_umask() -> str | None:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if any(os.path.realpath(f"/proc/{pid}/fd/{fd}") == lock for fd in os.listdir(f"/proc/{pid}/fd")):
                    status = Path(f"/proc/{pid}/status").read_text()
                    return next(line.split()[1] for line in status.splitlines() if line.startswith("Umask:"))
            except OSError:
                continue
        return None

    assert wait_until(drainer_umask, 30, "the lingering drainer") == "0077"


def test_files_are_private_without_the_umask(shared_base, monkeypatch):
    """In a process with umask 022, what lakeloop creates is still private: the store (and its
    WAL/SHM), the log and its rotated files, outbox entries and the drain lock, a notice, a
    judgment window and its lock, a dedup record, the redaction patterns cache."""
    old = os.umask(0o022)
    try:
        from lakeloop import log as logmod
        from lakeloop import notices, outbox, redact
        from lakeloop.outbox import spool
        from lakeloop.outbox.lock import try_lock, unlock
        from lakeloop.skillopt import attempts, pending
        from lakeloop.skillopt.parse import Edit
        from lakeloop.store.embedded import EmbeddedStore

        monkeypatch.setattr(logmod, "_configured", False)
        logger = logging.getLogger("lakeloop")
        monkeypatch.setattr(logger, "handlers", [])
        logmod.setup("modes").error("a line")
        rotating = logmod._PrivateRotatingFileHandler(paths.log_dir() / "small.log", maxBytes=50, backupCount=2)
        for i in range(5):
            rotating.emit(logging.LogRecord("x", logging.INFO, __file__, 1, "line %d" * 3, (i, i, i), None))
        rotating.close()
        assert (paths.log_dir() / "small.log.2").exists()
        spool.put_raw("Stop", b"{}")
        unlock(try_lock(outbox.outbox_dir()))
        notices.post("test-notice", "hello")
        pending.arm("s1", "db--alice", "toolu_1", 3, 1)
        attempts.record("db--alice", [Edit(op="append", text="x")], "published", 2)
        redact.redact_text("x")
        with EmbeddedStore(paths.store_file()) as store:
            store.list_sessions()
            found = modes_under(shared_base / "data", shared_base / "log")
    finally:
        os.umask(old)
    assert f"{paths.store_file()}-wal" in found and any(p.endswith("small.log.1") for p in found)
    assert wider(found) == {}


def test_wider_directories_and_files_from_before_are_narrowed(shared_base, monkeypatch):
    """A data dir, log dir, store and log left 0755/0644 by an older version become 0700/0600 when
    lakeloop next opens them."""
    from lakeloop import log as logmod
    from lakeloop.store.embedded import EmbeddedStore

    for directory in (paths.data_dir(), paths.log_dir()):
        directory.mkdir(mode=0o755)
        directory.chmod(0o755)
    for path in (paths.store_file(), paths.log_file()):
        path.write_text("")
        path.chmod(0o644)
    monkeypatch.setattr(paths, "_private_checked", set())
    monkeypatch.setattr(logmod, "_configured", False)
    monkeypatch.setattr(logging.getLogger("lakeloop"), "handlers", [])
    logmod.setup("modes").error("a line")
    EmbeddedStore(paths.store_file()).close()
    assert wider(modes_under(shared_base / "data", shared_base / "log")) == {}
