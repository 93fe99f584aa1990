"""``lakeloop status [--json]``: which store, where files live, open windows, pulled skills,
pinned skills (``pins``: ``{ref: version}``) and the outbox (``outbox``: ``pending``,
``oldest_age_s``, ``failed``, ``bytes``, ``dropped``, ``full``)."""

from __future__ import annotations

from .. import __version__, config, paths
from ._output import emit_json


def collect() -> dict:
    """The status as a JSON-ready dict (store errors are reported, not raised)."""
    from ..errors import StoreError
    from ..skillopt import pins
    from ..skillopt.agent import find_claude
    from ..skillopt.refs import load_manifest
    from ..store import open_store

    info: dict = {
        "version": __version__,
        "data_dir": str(paths.data_dir()),
        "log_file": str(paths.log_file()),
        "skills_root": str(paths.skills_root()),
        "capture": config.capture_enabled(),
        "judge_window": config.judge_window(),
        "agent_cli": find_claude(),
        "judge_model": config.judge_model(),
        "proposer_model": config.proposer_model(),
        "pulled_skills": {ref: e.get("version") for ref, e in load_manifest().items()},
        "pins": pins.load(),
        "pending_windows": len(list(paths.pending_dir().glob("*.json"))) if paths.pending_dir().exists() else 0,
    }
    from ..outbox.usage import status as outbox_status

    info["outbox"] = outbox_status()
    try:
        with open_store() as store:
            info["store"] = {
                "kind": store.name,
                "location": str(getattr(store, "path", "")),
                "ok": True,
                "sessions": len(store.list_sessions(limit=10_000)),
            }
    except StoreError as exc:
        from ..textsafe import escape_line

        info["store"] = {"kind": "unknown", "ok": False, "error": escape_line(str(exc))}
    return info


def run(args) -> int:
    """Print the status; exit 1 when the store cannot be opened."""
    info = collect()
    if args.json:
        emit_json(info)
    else:
        store = info["store"]
        print(f"lakeloop {info['version']}")
        print(
            f"store:        {store['kind']} {store.get('location', '')}"
            + ("" if store["ok"] else f"  ERROR: {store['error']}")
        )
        print(f"data dir:     {info['data_dir']}")
        print(f"log file:     {info['log_file']}")
        print(f"skills root:  {info['skills_root']}")
        print(f"capture:      {'on' if info['capture'] else 'off (LAKELOOP_CAPTURE=0)'}")
        print(f"agent CLI:    {info['agent_cli'] or 'not found (judge/proposer cannot run)'}")
        print(f"models:       judge={info['judge_model']} proposer={info['proposer_model']}")
        print(f"open windows: {info['pending_windows']}")
        box = info["outbox"]
        age = "" if box["oldest_age_s"] is None else f", oldest {box['oldest_age_s']:.0f} s old"
        print(
            f"outbox:       {box['pending']} waiting{age}, {box['failed']} failed, {box['bytes']} bytes"
            + (f", {box['dropped']} dropped (outbox full)" if box["dropped"] else "")
            + ("  FULL: new events are dropped" if box["full"] else "")
        )
        pulled = ", ".join(f"{r} v{v}" for r, v in sorted(info["pulled_skills"].items())) or "none"
        print(f"pulled:       {pulled}")
        pinned = ", ".join(f"{r} v{v}" for r, v in sorted(info["pins"].items()))
        print(f"pinned:       {pinned + '  (lakeloop skills unpin REF)' if pinned else 'none'}")
    return 0 if info["store"]["ok"] else 1
