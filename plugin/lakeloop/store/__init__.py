"""The store: one interface (``Store``), two implementations.

``open_store()`` picks the implementation: the Deeplake store when Deeplake
credentials are found (``lakeloop.deeplake.credentials``), else the embedded
SQLite store. ``LAKELOOP_STORE=embedded|deeplake`` forces one.
"""

from __future__ import annotations

from .base import SessionRow, SkillRow, Store

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (hook start-up time)
if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..deeplake.client import DeeplakeClient
    from ..deeplake.lite import LiteClient

#: ``open_store(light=True)`` on the embedded store: longest lock wait (ms) and statement time (s).
LIGHT_BUSY_TIMEOUT_MS = 2000
LIGHT_DEADLINE_S = 3.0


def _deeplake_credentials():
    from .. import config
    from ..deeplake.credentials import load
    from ..errors import StoreUnavailable

    kind = config.store_kind()
    if kind == "embedded":
        return None
    creds = load()
    if creds is None and kind == "deeplake":
        raise StoreUnavailable(
            "LAKELOOP_STORE=deeplake but no Deeplake credentials were found "
            "(run `lakeloop login` or set LAKELOOP_DEEPLAKE_TOKEN and LAKELOOP_DEEPLAKE_ORG_ID)"
        )
    return creds


def open_store(light: bool = False, *, read_only: bool = False) -> Store:
    """Open the store configured for this machine.

    ``light``: for a process that sends one or two statements and exits (a memory-path answer):
    on Deeplake the standard-library ``LiteClient`` instead of the httpx ``DeeplakeClient``
    (same contract, without httpx's ~120 ms start-up); on the embedded store lock waits of at
    most ``LIGHT_BUSY_TIMEOUT_MS`` and statements cut after ``LIGHT_DEADLINE_S`` (a lock held
    by another process, or a one-time index build, never holds a hook past its timeout).
    ``read_only`` (the dashboard's pages): the embedded store's existing file opened read-only
    (``embedded.read_only_connect``: never created, narrowed or migrated; writes fail); on
    Deeplake a store that sends SELECTs only and never creates or heals a table.
    Raises StoreUnavailable when the store cannot be opened.
    """
    creds = _deeplake_credentials()
    if creds is not None:
        from .. import config
        from .deeplake import DeeplakeStore

        client: DeeplakeClient | LiteClient
        if light:
            from ..deeplake.lite import light_client

            client = light_client(creds)
        else:
            from ..deeplake.client import shared_client

            client = shared_client(creds)
        return DeeplakeStore(
            client,
            {"sessions": config.sessions_table(), "skills": config.skills_table(), "memory": config.memory_table()},
            read_only=read_only,
        )
    from .embedded import EmbeddedStore

    if read_only:
        from .. import paths

        return EmbeddedStore(paths.store_file(), read_only=True)
    if light:  # inside a memory answer's 4 s deadline: short lock waits, statements cut at 3 s
        from .. import paths

        return EmbeddedStore(paths.store_file(), busy_timeout_ms=LIGHT_BUSY_TIMEOUT_MS, deadline_s=LIGHT_DEADLINE_S)
    return EmbeddedStore.open_default()


def current_identity(env: Mapping[str, str] | None = None):
    """The ``identity.Identity`` rows are written for: on Deeplake ``LAKELOOP_USER``, else the
    credentials' user name, else the login name (``config.user_name``), with the credentials'
    org name (else org id) and workspace; on the embedded store ``config.user_name``, org name
    ``local`` and workspace ``default``. ``env``: where ``LAKELOOP_USER`` and the login-name
    variables are read (default: this process's environment; the drainer passes the capturing
    session's, recorded in its outbox entry); the store and credentials are this machine's.
    Raises StoreUnavailable as ``open_store`` does."""
    from .. import config
    from ..identity import Identity

    creds = _deeplake_credentials()
    if creds is None:
        return Identity(user=config.user_name(env))
    import os

    source = os.environ if env is None else env
    user = source.get("LAKELOOP_USER", "").strip() or creds.user_name or config.user_name(env)
    return Identity(user=user, org_name=creds.org_name or creds.org_id, workspace=creds.workspace)


__all__ = ["SessionRow", "SkillRow", "Store", "current_identity", "open_store"]
