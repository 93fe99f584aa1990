"""Opening a second embedded store in one process keeps the first connection's SQLite locks.

SQLite's locks are POSIX record locks, which the kernel drops for the WHOLE process as soon as
any descriptor of the file is closed. If opening a store opened and closed the database file
itself, a store already open in the same process would silently lose its locks, and another
process could then take the database as unused (switch its journal mode, checkpoint and delete
the WAL under a live reader): a malformed database. Here a second process tries exactly that
while the first store is open.
"""

from __future__ import annotations

import subprocess
import sys

from lakeloop.store.embedded import EmbeddedStore

TAKE_OVER = (
    "import sqlite3, sys\n"
    "db = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n"
    "try:\n"
    "    mode = db.execute('PRAGMA journal_mode=DELETE').fetchone()[0]\n"
    "except sqlite3.OperationalError as exc:\n"
    "    mode = 'refused: ' + str(exc)\n"
    "print(mode)\n"
)


def _other_process_switches_journal(path) -> str:
    out = subprocess.run([sys.executable, "-c", TAKE_OVER, str(path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_second_open_keeps_the_first_connections_locks(tmp_path):
    """While a store is open (WAL mode), another process cannot leave WAL mode; opening a second
    store in the same process must not change that."""
    path = tmp_path / "store.sqlite3"
    first = EmbeddedStore(path)
    try:
        first.list_sessions(limit=1)  # a statement ran: the connection holds its shared lock
        assert _other_process_switches_journal(path) != "delete"
        second = EmbeddedStore(path)
        try:
            assert _other_process_switches_journal(path) != "delete"
        finally:
            second.close()
    finally:
        first.close()
