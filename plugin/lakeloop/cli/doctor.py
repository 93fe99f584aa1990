"""``lakeloop doctor``: one round trip to the store in use, the log directory and the agent CLI,
each on one line (``ok``, ``FAILED`` or ``missing`` and what to do), then a one-line summary.
Exit 0 when every check passed, 1 when one failed or something is missing."""

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


def plural(count: int, noun: str) -> str:
    """``"1 session"``, ``"2 sessions"``: ``count`` and ``noun`` (plural with ``s``)."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _agent_cli() -> tuple[bool, str]:
    """``(found, line)`` for the agent CLI check: the Claude Code binary (``LAKELOOP_CLAUDE_BIN``
    or on PATH) must be an executable file."""
    import os

    from ..skillopt.agent import find_claude

    cli = find_claude()
    if cli and os.path.isfile(cli) and os.access(cli, os.X_OK):
        return True, f"agent CLI: ok      {cli}"
    what = f"{cli} is not an executable file" if cli else "no claude found"
    return False, (
        f"agent CLI: missing  {what}: the judge and proposer cannot run. "
        "Install Claude Code, or set LAKELOOP_CLAUDE_BIN to its path."
    )


def run(args) -> int:
    """Check the store (one round trip), the log dir and the agent CLI; print one line each and a
    summary. Returns 0 when all passed, 1 when one failed or is missing (a store that cannot be
    opened ends the checks there)."""
    from ..errors import StoreError
    from ..store import open_store
    from ..store.deeplake import DeeplakeStore

    problems: list[str] = []
    try:
        store = open_store()
    except StoreError as exc:
        print(f"store:     FAILED  {explain(exc, 'the store')}")
        print("doctor: the store cannot be opened; fix it and run lakeloop doctor again")
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
                f"store:     ok      deeplake at {where} ({plural(len(tables), 'table')} visible, "
                f"org {client.creds.org_id}, credentials from {client.creds.source})"
            )
        else:
            count = len(store.list_sessions(limit=100_000))
            print(f"store:     ok      embedded SQLite at {where} ({plural(count, 'session')})")
    except StoreError as exc:
        problems.append("store failed")
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
        problems.append("log not writable")
        print(f"log:       FAILED  cannot write {log_dir}: {exc.strerror}")
    found, line = _agent_cli()
    print(line)
    if not found:
        problems.append("agent CLI missing")
    if problems:
        print(f"doctor: {plural(len(problems), 'problem')} ({', '.join(problems)}); see the lines above")
        return 1
    print("doctor: all 3 checks passed")
    return 0
