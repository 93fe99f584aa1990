"""``lakeloop flush [--wait S] [--json]``: drain the outbox now and print what was stored."""

from __future__ import annotations

from ._output import emit_json


def run(args) -> int:
    """Drain the outbox in this process (waiting up to ``--wait`` seconds for a running
    drainer to finish first). Exit 0 when nothing is left waiting, 1 otherwise."""
    from ..capture.drain import drain
    from ..log import setup
    from ..outbox.usage import status

    log = setup("flush")
    if not args.json:
        print("draining the outbox ...", flush=True)
    result = drain(log, linger_s=0.0, wait_s=args.wait)
    after = status()
    if result is None:
        info = {"ok": False, "error": f"another drainer is still running after {args.wait:.0f} s", "outbox": after}
    else:
        info = {
            "ok": after["pending"] == 0,
            "stored": result.stored,
            "reacted": result.reacted,
            "failed": result.failed,
            "skipped": result.skipped,
            "store_error": result.gave_up or None,
            "outbox": after,
        }
    if args.json:
        emit_json(info)
    elif result is None:
        print(f"lakeloop: {info['error']}; try again, or `lakeloop logs` to see what it does")
    else:
        print(
            f"stored {result.stored} event(s) in {result.batches} batch(es); reactions run: {result.reacted}; "
            f"moved to failed/: {result.failed}; not captured (no session id, capture off): {result.skipped}"
        )
        print(f"outbox now: {after['pending']} waiting, {after['failed']} failed, {after['bytes']} bytes")
        if result.gave_up:
            from ..textsafe import escape_line

            print(f"the store failed: {escape_line(str(result.gave_up))}")
    return 0 if info["ok"] else 1
