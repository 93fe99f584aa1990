"""``lakeloop doctor``: one round trip to the store in use, and what failed in plain words."""

from __future__ import annotations

from .. import paths


def explain(exc: Exception, where: str) -> str:
    """A plain-words explanation of a store failure (never the token), on one line: text from the
    service or the store (an error body) is shown with its control and bidi characters escaped
    (``lakeloop.textsafe.escape_line``), so it cannot forge a line or drive the terminal."""
    from ..textsafe import escape_line

    return escape_line(_explain(exc, where))


def _explain(exc: Exception, where: str) -> str:
    from ..errors import (
        AlreadyExists,
        AuthError,
        NetworkError,
        PaymentRequired,
        SlotTimeout,
        StoreUnavailable,
        TransientError,
    )

    if isinstance(exc, NetworkError):
        return f"cannot reach {where}: no answer ({exc}). Check the network, a proxy, or apiUrl."
    if isinstance(exc, PaymentRequired):
        return "Deeplake says the organisation is out of credits (HTTP 402). Add credits in the Deeplake console."
    if isinstance(exc, AuthError):
        return (
            f"Deeplake refused the credentials (HTTP {exc.status}). Check the token and org id "
            "(`lakeloop login`), and that the token belongs to that organisation."
        )
    if isinstance(exc, SlotTimeout):
        return "every request slot on this machine stayed busy; other lakeloop processes are stuck or slow."
    if isinstance(exc, TransientError):
        return f"Deeplake is failing right now (HTTP {exc.status}) even after retries. Try again in a minute."
    if isinstance(exc, AlreadyExists):
        return f"unexpected: {exc}"
    if isinstance(exc, StoreUnavailable):
        return f"the store cannot be opened: {exc}"
    return f"the store answered with an error: {exc}"


def run(args) -> int:
    """Check the store (one round trip), the log dir and the agent CLI. Exit 1 on a store failure."""
    from ..errors import StoreError
    from ..skillopt.agent import find_claude
    from ..store import open_store
    from ..store.deeplake import DeeplakeStore

    ok = True
    try:
        store = open_store()
    except StoreError as exc:
        print(f"store:     FAILED  {explain(exc, 'the store')}")
        return 1
    where = getattr(store, "path", "")
    try:
        if isinstance(store, DeeplakeStore):
            from ..deeplake.client import DeeplakeClient  # already loaded: open_store() made one

            client = store.client
            assert isinstance(client, DeeplakeClient)  # open_store() without light=True: the httpx client
            client.max_retries = 0  # one round trip: report what failed, not how retries ended
            tables = client.list_tables()
            print(
                f"store:     ok      deeplake at {where} ({len(tables)} tables visible, "
                f"org {client.creds.org_id}, credentials from {client.creds.source})"
            )
        else:
            count = len(store.list_sessions(limit=100_000))
            print(f"store:     ok      embedded SQLite at {where} ({count} sessions)")
    except StoreError as exc:
        ok = False
        print(f"store:     FAILED  {explain(exc, where)}")
    finally:
        store.close()
    log_dir = paths.log_dir()
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        probe = log_dir / ".doctor"
        probe.write_text("ok")
        probe.unlink()
        print(f"log:       ok      {paths.log_file()}")
    except OSError as exc:
        ok = False
        print(f"log:       FAILED  cannot write {log_dir}: {exc.strerror}")
    cli = find_claude()
    print(f"agent CLI: {'ok      ' + cli if cli else 'missing  no claude found: the judge and proposer cannot run'}")
    return 0 if ok else 1
