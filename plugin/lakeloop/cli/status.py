"""``lakeloop status [--json]``: which store, where files live, open windows, pulled skills,
pinned skills (``pins``: ``{ref: version}``), the outbox (``outbox``: ``pending``,
``oldest_age_s``, ``failed``, ``bytes``, ``dropped``, ``full``) and the plugin's own virtualenv
(``plugin_env``: ``plugin_env_state``: ``state`` is ``preparing``, ``ready``,
``failed``, ``interrupted`` or ``not built``) and the session summaries' cost on this machine
(``summaries``: ``summaries_state``: ``enabled``, ``today``, ``chars_sent``, ``failed``) and the
coding agents (``agents``: ``lakeloop agents --json``'s list, read from local files only)."""

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
    info["plugin_env"] = plugin_env_state()
    info["summaries"] = summaries_state()
    from .agents import collect as agents_state

    info["agents"] = agents_state(probe=False)
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


def summaries_state() -> dict:
    """Session summaries on this machine: ``{"enabled": bool (LAKELOOP_SUMMARIES), "today": model
    runs on the current UTC day, "chars_sent": characters sent to the model today, "failed": today's
    runs whose answer was rejected or whose model call failed}`` (``summaries.state.stats``), plus
    ``"error"`` (one line) when the local jobs database cannot be read (the counts are then 0).
    Never raises."""
    from ..jobs import JobsUnavailable
    from ..summaries.state import stats

    out: dict = {"enabled": config.summaries_enabled()}
    try:
        return {**out, **stats()}
    except JobsUnavailable as exc:
        from ..textsafe import escape_line

        return {**out, "today": 0, "chars_sent": 0, "failed": 0, "error": escape_line(str(exc))}


def summaries_line(summaries: dict) -> str:
    """One line for ``summaries_state()``'s dict."""
    if "error" in summaries:
        return f"cannot read the local job database: {summaries['error']}"
    line = (
        f"{summaries['today']} today, {summaries['chars_sent']:,} characters sent to the model, "
        f"{summaries['failed']} failed"
    )
    return line if summaries["enabled"] else line + "  (off: LAKELOOP_SUMMARIES=0)"


def plugin_env_line(env: dict) -> str:
    """One line for ``plugin_env_state()``'s dict, times in local ``HH:MM``."""
    import time

    from ..textsafe import escape_line

    def at(epoch: float) -> str:
        return time.strftime("%H:%M", time.localtime(epoch))

    where = f" at {escape_line(env['venv'])}" if env["venv"] else ""
    state = env["state"]
    if state == "preparing":
        return f"being prepared since {at(env['since'])} (pid {env['pid']}){where}"
    if state == "failed":
        reason = escape_line(env["reason"] or "")
        return f"build failed at {at(env['since'])} ({reason}); the next hook tries again{where}"
    if state == "interrupted":
        return f"build started at {at(env['since'])} was interrupted; the next hook starts it again{where}"
    if state == "ready":
        return f"ready{where}"
    return f"not built yet{where}" if where else "none recorded (the first hook that needs it builds it)"


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
        print(f"plugin env:   {plugin_env_line(info['plugin_env'])}")
        print(f"summaries:    {summaries_line(info['summaries'])}")
        pulled = ", ".join(f"{r} v{v}" for r, v in sorted(info["pulled_skills"].items())) or "none"
        print(f"pulled:       {pulled}")
        pinned = ", ".join(f"{r} v{v}" for r, v in sorted(info["pins"].items()))
        print(f"pinned:       {pinned + '  (lakeloop skills unpin REF)' if pinned else 'none'}")
        installed = [a["agent"] + ("" if a["active"] else " (inactive)") for a in info["agents"] if a["installed"]]
        print(f"agents:       {', '.join(installed) or 'none installed'}  (details: lakeloop agents)")
    return 0 if info["store"]["ok"] else 1


def plugin_env_state() -> dict:
    """The plugin's virtualenv as ``hooks/bootstrap.py`` left it: ``{"state": S, "venv": path or
    None, "pid": int or None, "since": epoch seconds or None, "reason": str or None}``, S one of
    ``preparing`` (a build runs: its pid, and since when), ``ready``, ``failed`` (the last build's
    end time and reason; the next hook tries again), ``interrupted`` (the build died) or
    ``not built``. Reads files only; never raises."""
    import os

    from .. import paths

    venv = paths.plugin_venv()
    out: dict = {"state": "not built", "venv": venv, "pid": None, "since": None, "reason": None}
    if not venv:
        return out
    try:
        with open(paths.plugin_venv_lock(venv), encoding="utf-8", errors="replace") as fh:
            words = fh.readline().split(" ", 3)
    except OSError:
        words = []
    ready = os.path.exists(os.path.join(venv, ".lakeloop-ready"))
    try:
        if words[0] == "building" and len(words) >= 3:
            from ..detach import pid_alive

            pid, since = int(words[1]), float(words[2])
            if not (0 < pid < 2**22 and 0 <= since < 2**33):  # a garbled or hostile state line
                raise ValueError(words[1:3])
            if pid_alive(pid):
                return {**out, "state": "preparing", "pid": pid, "since": since}
            if not ready:
                return {**out, "state": "interrupted", "since": since}
        if words[0] == "failed" and not ready and len(words) >= 2:
            since = float(words[1])
            if not 0 <= since < 2**33:
                raise ValueError(words[1])
            return {**out, "state": "failed", "since": since, "reason": " ".join(words[2:]).strip()}
    except (IndexError, ValueError, OverflowError):
        pass
    return {**out, "state": "ready" if ready else "not built"}
