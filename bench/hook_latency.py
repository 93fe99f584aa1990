"""Wall time of hook processes, as the agent runs them (``hooks/run <Event> [agent]``, payload on stdin).

    python bench/hook_latency.py [--runs 20] [--python PATH] [--store embedded|deeplake]
                                 [--memory] [--events N] [--agent claude|codex|gemini]

Prints median / p90 / min in milliseconds for: the capture hook (PostToolUse of
Bash), PreToolUse on a non-memory tool call (Bash), PreToolUse of an org skill
(arming), UserPromptSubmit (capture + reaction check), SessionEnd (the final summary's
enqueue and the job runner's kick) and SessionStart on ``startup`` (the pull and the project's
recent summaries: ``SUMMARIES`` summary rows of the payload's project are stored first, so the
context lines are read and rendered) and on ``resume``. State lives in a
fresh temporary directory; payloads are the real recorded ones in
plugin/lakeloop/data/. ``--store deeplake`` runs against the Deeplake stand-in
of the tests (a throwaway PostgreSQL behind it, no injected faults) instead of
the embedded store, and counts the rows through it.

``--agent codex|gemini`` runs the same cases as that agent sends them: its recorded payloads
(plugin/lakeloop/data/<agent>-<version>-hook-payloads.jsonl; Codex's shell is ``Bash``, Gemini's
``run_shell_command``; arming is Codex's ``cat .../skills/<ref>/SKILL.md`` and Gemini's
``activate_skill``; the prompt is Gemini's BeforeAgent), with tool input, tool output and prompt
padded to the byte sizes of Claude Code's case, the command ``<launcher> <Canonical> <agent>`` and
the environment that agent gives its hooks (no ``CLAUDE_PLUGIN_DATA``). Each case is measured for
Claude Code too, alternating run by run, and the ratio agent / claude of the medians is printed
(the target is at most 1.10). Both sides run the launcher copies ``lakeloop install`` writes,
pinned to ``--python``: ``<data dir>/claude-plugin/hooks/run`` and
``<data dir>/agent-hooks/hooks/run``. With ``--memory`` only the Bash grep case applies (the only
memory tool that reaches those agents' hooks). ``--agent-env NAME=VALUE`` (repeatable) adds a
variable to the agent's hook environment, to measure a change before making it.

``--memory`` adds the memory-path cases: PreToolUse answering a Grep (a word,
a word in ~1 % of events ranked best first, and a regular expression no index can
narrow), a Read of a session file and of /index.md, and Bash ``grep -rn WORD <root> | head``,
on a store pre-filled with ``--events`` captured events (default 100,000 on the embedded
store, 5,000 on the stand-in; ``bench/memory_corpus.py``). For each it prints the wall
time, the peak RSS of the hook process (its python),
and on the stand-in the number of store requests each tool call made. Peak RSS is read with
``/usr/bin/time -f %M`` (GNU time) when it is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAYLOADS = ROOT / "plugin" / "lakeloop" / "data" / "claude-code-2.1.330-hook-payloads.jsonl"
AGENT_PAYLOADS = {
    "codex": ROOT / "plugin" / "lakeloop" / "data" / "codex-0.169.0-hook-payloads.jsonl",
    "gemini": ROOT / "plugin" / "lakeloop" / "data" / "gemini-0.61.0-hook-payloads.jsonl",
}
#: canonical event -> the agent's native event name
NATIVE_EVENTS = {
    "codex": {},
    "gemini": {"UserPromptSubmit": "BeforeAgent", "PreToolUse": "BeforeTool", "PostToolUse": "AfterTool"},
}
#: the agent's shell tool
SHELL = {"claude": "Bash", "codex": "Bash", "gemini": "run_shell_command"}


def _payload(event: str, tool: str | None = None, session_id: str | None = None) -> bytes:
    for line in PAYLOADS.read_text().splitlines():
        p = json.loads(line)
        if p["hook_event_name"] == event and (tool is None or p.get("tool_name") == tool):
            if session_id:
                p["session_id"] = session_id
            return json.dumps(p).encode()
    raise SystemExit(f"no {event} {tool} payload")


def _resume_payload() -> bytes:
    """The recorded SessionStart payload with ``source`` ``resume`` (no summary lines)."""
    p = json.loads(_payload("SessionStart"))
    p["source"] = "resume"
    return json.dumps(p).encode()


def _settle(data_dir: Path) -> None:
    """Wait (untimed) until the detached drainers have emptied the outbox, so each run
    measures one hook on a quiet machine, as in a session where events are seconds apart."""
    deadline = time.monotonic() + 30
    outbox = data_dir / "outbox"
    while time.monotonic() < deadline and (any(outbox.glob("*.json")) or any(outbox.glob("*.work"))):
        time.sleep(0.01)
    time.sleep(0.05)


DATA_DIR = Path()
#: agent -> the launcher its hooks run; Claude Code alone: the checkout's ``hooks/run`` (see ``install_copies``)
LAUNCHERS: dict[str, Path] = {}


def measure(event: str, payload: bytes, env: dict, runs: int) -> list[float]:
    """Wall times in ms of ``runs`` hook processes (after 2 warm-ups)."""
    return measure_sides([(event, payload, env, "claude")], runs)[0]


def measure_sides(sides: list[tuple[str, bytes, dict, str]], runs: int) -> list[list[float]]:
    """Wall times in ms of ``runs`` hook processes (after 2 warm-ups) for each side ``(canonical
    event, payload, env, agent)``, the sides alternating run by run so that a drift of the machine
    weighs on each alike. The command is ``hooks/run <event>``, plus the agent for a non-claude side."""
    times: list[list[float]] = [[] for _ in sides]
    for i in range(runs + 2):
        for n, (event, payload, env, agent) in enumerate(sides):
            launcher = LAUNCHERS.get(agent, ROOT / "hooks" / "run")
            argv = [str(launcher), event] + ([agent] if agent != "claude" else [])
            _settle(DATA_DIR)
            t0 = time.perf_counter()
            subprocess.run(argv, input=payload, env=env, check=True, stdout=subprocess.DEVNULL)
            if i >= 2:
                times[n].append((time.perf_counter() - t0) * 1000)
    return times


def _agent_payload(agent: str, event: str, tool: str | None = None) -> dict:
    """The agent's recorded payload of canonical ``event`` (and shell ``tool``), as a dict."""
    native = NATIVE_EVENTS[agent].get(event, event)
    path = AGENT_PAYLOADS[agent]
    if not path.exists():
        raise SystemExit(f"no recorded {agent} payloads at {path}")
    for line in path.read_text().splitlines():
        p = json.loads(line)
        if p.get("hook_event_name") == native and (tool is None or p.get("tool_name") == tool):
            return p
    raise SystemExit(f"no {agent} {native} {tool or ''} payload in {path}")


def _json_len(value: object) -> int:
    return len(json.dumps(value).encode())


def _pad_text(text: str, value: object, target: int) -> str:
    """``text`` lengthened with spaces so that ``value`` (holding it) reaches ``target`` JSON bytes."""
    return text + " " * max(0, target - _json_len(value))


def _sized(agent: str, native: dict, claude: dict, home: str) -> bytes:
    """``native`` with its tool input, tool output and prompt padded to the JSON byte sizes of
    ``claude``'s, and ``cwd`` in the bench's home (as Claude Code's cases); JSON bytes."""
    p = dict(native, cwd=f"{home}/project")
    if "prompt" in p and "prompt" in claude:
        p["prompt"] = _pad_text(p["prompt"], p["prompt"], _json_len(claude["prompt"]))
    ti = p.get("tool_input")
    if isinstance(ti, dict) and isinstance(ti.get("command"), str):
        ti = p["tool_input"] = dict(ti)
        ti["command"] = _pad_text(ti["command"], ti, _json_len(claude.get("tool_input", {})))
    if "tool_response" in p and "tool_response" in claude:
        target, response = _json_len(claude["tool_response"]), p["tool_response"]
        if isinstance(response, str):
            p["tool_response"] = _pad_text(response, response, target)
        elif isinstance(response, dict) and isinstance(response.get("llmContent"), str):
            response = p["tool_response"] = dict(response)
            response["llmContent"] = _pad_text(response["llmContent"], response, target)
    return json.dumps(p).encode()


def agent_case(agent: str, event: str, claude_payload: bytes, home: str, arming: bool = False) -> bytes:
    """The agent's payload for the case whose Claude Code payload is ``claude_payload``: its recorded
    payload of the same canonical event (the shell tool for tool events), sized like Claude's.
    ``arming``: the tool call that uses a pulled team skill (Codex: its shell reading the skill's
    ``SKILL.md``; Gemini: ``activate_skill``)."""
    claude = json.loads(claude_payload)
    tool = SHELL[agent] if event in ("PreToolUse", "PostToolUse") else None
    native = _agent_payload(agent, event, tool)
    command = claude.get("tool_input", {}).get("command") if tool else None
    if isinstance(command, str):  # the same shell command as Claude Code's case
        ti = {"command": command}
        if agent == "gemini":
            ti["description"] = claude["tool_input"].get("description", "")
        native = dict(native, tool_input=ti)
    if arming and agent == "codex":
        skill = f"{home}/.codex/skills/db-migrate--alice/SKILL.md"
        native = dict(native, tool_input={"command": f"cat {skill}"})
    elif arming:
        native = dict(native, tool_name="activate_skill", tool_input={"name": "db-migrate--alice"})
    if event == "SessionStart":
        native = dict(native, source=claude.get("source", "startup"))
    if event in ("PreToolUse", "PostToolUse", "UserPromptSubmit") and "session_id" in claude:
        native = dict(native, session_id=claude["session_id"])
    return _sized(agent, native, claude, home)


def install_copies(python: str, data_dir: str) -> None:
    """Write the launcher copies ``lakeloop install`` writes, pinned to ``python``: Claude Code's
    plugin copy (``<data dir>/claude-plugin``) and the Codex/Gemini one (``<data dir>/agent-hooks``),
    and make them the launchers of ``LAUNCHERS``: a ratio compares what each agent really runs."""
    sys.path.insert(0, str(ROOT / "plugin"))
    from lakeloop.agents.hookcopy import AGENT_COPY_FILES, write_copy

    write_copy(Path(data_dir, "claude-plugin"), python)
    write_copy(Path(data_dir, "agent-hooks"), python, AGENT_COPY_FILES)
    LAUNCHERS["claude"] = Path(data_dir, "claude-plugin", "hooks", "run")
    LAUNCHERS["codex"] = LAUNCHERS["gemini"] = Path(data_dir, "agent-hooks", "hooks", "run")


#: ``--agent-env`` settings, added to the agent's hook environment
EXTRA_AGENT_ENV: dict[str, str] = {}


def agent_env(agent: str, env: dict, home: str) -> dict:
    """The environment ``agent`` gives its hooks: Claude Code's (``CLAUDE_PLUGIN_DATA``) for claude;
    Codex: ``CODEX_HOME``; Gemini: ``GEMINI_PROJECT_DIR``, ``CLAUDE_PROJECT_DIR``; then
    ``EXTRA_AGENT_ENV``."""
    if agent == "claude":
        return env
    out = {k: v for k, v in env.items() if k != "CLAUDE_PLUGIN_DATA"}
    if agent == "codex":
        out["CODEX_HOME"] = f"{home}/.codex"
    else:
        out.update(GEMINI_PROJECT_DIR=f"{home}/project", CLAUDE_PROJECT_DIR=f"{home}/project")
    out.update(EXTRA_AGENT_ENV)
    return out


def _pre_tool_use(tool: str, tool_input: dict, home: str) -> bytes:
    p = json.loads(_payload("PreToolUse", "Grep"))
    p.update(tool_name=tool, tool_input=tool_input, cwd=f"{home}/project", tool_use_id="toolu_bench")
    return json.dumps(p).encode()


def measure_memory(payload: bytes, env: dict, runs: int, standin) -> tuple[list[float], int, list[int], bytes]:
    """Wall times (ms), peak RSS (KiB, the largest of 3 extra runs under ``/usr/bin/time``; 0 when
    it is missing), store requests per run and the last stdout of ``runs`` PreToolUse hooks
    (after 1 warm-up). RSS is not read with ``wait4`` here: a child forked from this large
    process reports this process's RSS as its own peak."""
    times, peak, requests, out = [], 0, [], b""
    hook = [str(ROOT / "hooks" / "run"), "PreToolUse"]
    for i in range(runs + 1):
        before = len(standin.requests) if standin is not None else 0
        t0 = time.perf_counter()
        out = subprocess.run(hook, input=payload, env=env, stdout=subprocess.PIPE, check=True).stdout
        elapsed = (time.perf_counter() - t0) * 1000
        if i >= 1:
            times.append(elapsed)
            if standin is not None:
                requests.append(len(standin.requests) - before)
    if os.path.exists("/usr/bin/time"):
        for _ in range(3):
            proc = subprocess.run(
                ["/usr/bin/time", "-f", "%M", *hook], input=payload, env=env, capture_output=True, check=True
            )
            peak = max(peak, int(proc.stderr.decode().strip().splitlines()[-1]))
    return times, peak, requests, out


def _answer_lines(updated: dict) -> int:
    """Lines of the answer file a memory answer points at (Grep/Read redirect, Bash cat)."""
    path = updated.get("path") or updated.get("file_path") or ""
    command = updated.get("command") or ""
    if command.startswith("cat -- '"):
        path = command[len("cat -- '") :].split("'", 1)[0]
    try:
        return len(Path(path).read_text(encoding="utf-8").splitlines())
    except OSError:
        return 0


#: Summary rows of the SessionStart payload's project stored before the SessionStart cases.
SUMMARIES = 8


def seed_summaries(env: dict, home: str) -> None:
    """Store ``SUMMARIES`` session summaries of the recorded SessionStart payload's project (as
    the ``summarize`` job writes them) in the store ``env`` selects, through lakeloop itself."""
    sys.path.insert(0, str(ROOT / "plugin"))
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("LAKELOOP_")}, HOME=home)
    try:
        from lakeloop.identity import project_key
        from lakeloop.store import open_store
        from lakeloop.store.memory_types import NoteRow
        from lakeloop.summaries import HEADINGS, path_for

        project = project_key(json.loads(_payload("SessionStart"))["cwd"])
        with open_store() as store:
            for i in range(SUMMARIES):
                body = "\n\n".join(f"## {h}\n- {h.lower()} of session {i}." for h in HEADINGS)
                store.put_memory_doc(
                    NoteRow(
                        id=f"bench-summary-{i}",
                        path=path_for("alice", f"bench-{i}"),
                        text=f"# Session bench-{i}\n\n{body}\n",
                        author="alice",
                        project=project,
                        date=f"2026-03-{1 + i:02d}T10:00:00.000000Z",
                        description="summary",
                    )
                )
    finally:
        os.environ.clear()
        os.environ.update(saved)


def memory_cases(args, env: dict, standin, home: str, floor: float) -> int:
    """Fill the store with ``--events`` events, then time the memory-path hooks; returns the
    number of events stored beforehand."""
    worst = 0
    sys.path.insert(0, str(ROOT / "plugin"))
    sys.path.insert(0, str(ROOT / "bench"))
    import memory_corpus

    events = args.events or (100_000 if standin is None else 5_000)
    root = f"{home}/.deeplake/memory"
    fill_env = {k: v for k, v in env.items() if k.startswith("LAKELOOP_")}
    saved = dict(os.environ)
    os.environ.update(fill_env, HOME=home)
    try:
        from lakeloop.store import open_store

        t0 = time.perf_counter()
        with open_store() as store:
            memory_corpus.fill(store, events)
        fill_s = time.perf_counter() - t0
    finally:
        os.environ.clear()
        os.environ.update(saved)
    first = next(memory_corpus.rows(1))
    session_file = root + first.path
    print(f"memory path: {events} events stored in {fill_s:.1f} s ({fill_s / events * 1000:.2f} ms per event)")
    word, common = memory_corpus.MARKER, memory_corpus.MARKER_COMMON
    cases = [
        (
            f"memory Grep word '{word}' (content)",
            "Grep",
            {"pattern": word, "path": root, "output_mode": "content", "-n": True},
        ),
        (f"memory Grep '{common}' (files, ranked)", "Grep", {"pattern": common, "path": root}),
        (
            "memory Grep regex 'z.b.a.o' (no index)",
            "Grep",
            {"pattern": "z.b.a.o", "path": root, "output_mode": "content"},
        ),
        ("memory Read session file (200 lines)", "Read", {"file_path": session_file}),
        ("memory Read /index.md", "Read", {"file_path": f"{root}/index.md"}),
        (
            f"memory Bash grep -rn {word} | head",
            "Bash",
            {"command": f"grep -rn {word} ~/.deeplake/memory | head", "description": "search memory"},
        ),
    ]
    if args.agent != "claude":  # only the shell reaches those agents' hooks on the memory path
        bash = next(c for c in cases if c[1] == "Bash")
        claude_payload = _pre_tool_use(bash[1], bash[2], home)
        native = agent_case(args.agent, "PreToolUse", claude_payload, home)
        sides = [
            ("PreToolUse", claude_payload, env, "claude"),
            ("PreToolUse", native, agent_env(args.agent, env, home), args.agent),
        ]
        claude_t, agent_t = measure_sides(sides, args.runs)
        ratio = statistics.median(agent_t) / statistics.median(claude_t)
        print(
            f"{bash[0]:<40} median {statistics.median(agent_t):6.1f} ms  claude "
            f"{statistics.median(claude_t):6.1f} ms  ratio {ratio:4.2f}{'' if ratio <= 1.10 else '  <-- over 1.10'}"
        )
        return events
    for label, tool, tool_input in cases:
        payload = _pre_tool_use(tool, tool_input, home)
        times, peak_kib, requests, out = measure_memory(payload, env, args.runs, standin)
        worst = max(worst, peak_kib)
        spec = json.loads(out or b"{}").get("hookSpecificOutput", {})
        decision = spec.get("permissionDecision", "NONE")
        decision += f" {_answer_lines(spec.get('updatedInput') or {})} lines"
        q = statistics.quantiles(times, n=10)
        extra = ""
        if standin is not None:
            extra = f"  requests/call {sorted(set(requests))}"
        print(
            f"{label:<40} median {statistics.median(times):6.1f} ms  p90 {q[-1]:6.1f} ms  "
            f"({statistics.median(times) / floor:.1f}x floor)  peak {peak_kib / 1024:5.1f} MiB  {decision}{extra}"
        )
    print(f"peak RSS of the memory hooks: {worst / 1024:.1f} MiB (target < 40 MiB)")
    return events


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--store", choices=("embedded", "deeplake"), default="embedded")
    ap.add_argument("--memory", action="store_true", help="add the memory-path cases")
    ap.add_argument("--events", type=int, default=None, help="captured events for --memory")
    ap.add_argument(
        "--agent", choices=("claude", "codex", "gemini"), default="claude", help="the agent whose hooks run"
    )
    ap.add_argument(
        "--agent-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="with --agent codex|gemini: also set NAME=VALUE for that agent's hooks (to try a change)",
    )
    args = ap.parse_args()
    for item in args.agent_env:
        name, sep, value = item.partition("=")
        if not sep:
            ap.error(f"--agent-env {item!r}: expected NAME=VALUE")
        EXTRA_AGENT_ENV[name] = value
    import contextlib

    with contextlib.ExitStack() as stack:
        standin = None
        if args.store == "deeplake":
            sys.path.insert(0, str(ROOT))
            from tests.support.deeplake_standin import DeeplakeStandIn
            from tests.support.postgres import PostgresCluster

            cluster = stack.enter_context(PostgresCluster())
            standin = stack.enter_context(DeeplakeStandIn(cluster.dsn))
        return run(args, standin)


def run(args, standin) -> int:
    """Measure; returns 1 when an event was lost."""
    with tempfile.TemporaryDirectory() as tmp:
        # As inside Claude Code: HOME (here a temporary one) decides where platformdirs puts
        # the data and log dirs, and CLAUDE_PLUGIN_DATA is set (it caches those answers).
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LAKELOOP_", "XDG_"))}
        # As installed: Python caches compiled modules (a developer shell may say otherwise).
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(
            HOME=f"{tmp}/home",
            CLAUDE_PLUGIN_DATA=f"{tmp}/plugin-data",
            LAKELOOP_PYTHON=args.python,
            LAKELOOP_CLAUDE_BIN="/nonexistent",
        )
        data_dir = f"{tmp}/home/.local/share/lakeloop"  # platformdirs' user data dir for that HOME
        if standin is not None:
            env.update(
                LAKELOOP_DEEPLAKE_TOKEN=standin.token,
                LAKELOOP_DEEPLAKE_ORG_ID=standin.org_id,
                LAKELOOP_DEEPLAKE_WORKSPACE=standin.workspace,
                LAKELOOP_DEEPLAKE_API_URL=standin.base_url,
                LAKELOOP_STORE="deeplake",
            )
        print(f"store: {args.store}")
        global DATA_DIR
        DATA_DIR = Path(data_dir)
        Path(data_dir).mkdir(parents=True)
        for name in ("pulled-skills.json", "pulled-skills-codex.json", "pulled-skills-gemini.json"):
            Path(data_dir, name).write_text(json.dumps({"skills": {"db-migrate--alice": {"version": 1}}}))
        cases = [
            ("capture hook (PostToolUse, Bash)", "PostToolUse", _payload("PostToolUse", "Bash")),
            ("PreToolUse, non-memory tool (Bash)", "PreToolUse", _payload("PreToolUse", "Bash")),
            ("PreToolUse, org skill (arming)", "PreToolUse", _payload("PreToolUse", "Skill", "bench-arming")),
            ("UserPromptSubmit (capture, no window)", "UserPromptSubmit", _payload("UserPromptSubmit")),
            ("SessionEnd (summary trigger, job kick)", "SessionEnd", _payload("SessionEnd")),
            ("SessionStart, startup (pull + summaries)", "SessionStart", _payload("SessionStart")),
            ("SessionStart, resume (pull)", "SessionStart", _resume_payload()),
        ]
        t = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            subprocess.run([args.python, "-c", "pass"], check=True)
            t.append((time.perf_counter() - t0) * 1000)
        floor = statistics.median(t)
        print(f"{'python -c pass (interpreter floor)':<40} median {floor:6.1f} ms")
        home = f"{tmp}/home"
        if args.agent != "claude":
            install_copies(args.python, data_dir)
        prefilled = memory_cases(args, env, standin, home, floor) if args.memory else 0
        seed_summaries(env, home)
        captured = 0
        if args.agent != "claude":
            print(
                f"agent: {args.agent} (each case also run as Claude Code, alternating; ratio = {args.agent} / claude)"
            )
        for label, event, payload in cases:
            if args.agent == "claude":
                times = measure(event, payload, env, args.runs)
                if event in ("PostToolUse", "UserPromptSubmit"):
                    captured += len(times) + 2
                q = statistics.quantiles(times, n=10)
                print(
                    f"{label:<40} median {statistics.median(times):6.1f} ms  p90 {q[-1]:6.1f} ms  "
                    f"min {min(times):6.1f} ms  (n={len(times)})"
                )
                continue
            native = agent_case(args.agent, event, payload, home, arming="arming" in label)
            sides = [(event, payload, env, "claude"), (event, native, agent_env(args.agent, env, home), args.agent)]
            claude_t, agent_t = measure_sides(sides, args.runs)
            if event in ("PostToolUse", "UserPromptSubmit"):
                captured += 2 * (len(agent_t) + 2)
            ratio = statistics.median(agent_t) / statistics.median(claude_t)
            q = statistics.quantiles(agent_t, n=10)
            print(
                f"{label:<40} median {statistics.median(agent_t):6.1f} ms  p90 {q[-1]:6.1f} ms  "
                f"claude {statistics.median(claude_t):6.1f} ms  ratio {ratio:4.2f}"
                f"{'' if ratio <= 1.10 else '  <-- over 1.10'}  ({len(native)} vs {len(payload)} bytes)"
            )
        # The detached drainers store the spooled events; wait for them, then count rows.
        import sqlite3

        deadline = time.monotonic() + 60
        outbox = Path(data_dir, "outbox")
        while time.monotonic() < deadline and (any(outbox.glob("*.json")) or any(outbox.glob("*.work"))):
            time.sleep(0.05)
        if standin is None:
            db = sqlite3.connect(Path(data_dir, "store.sqlite3"))
            rows = db.execute("SELECT COUNT(*) FROM sessions").fetchone()[0]
            db.close()
        else:
            import httpx

            answer = httpx.post(
                f"{standin.base_url}/workspaces/{standin.workspace}/tables/query",
                json={"query": "SELECT COUNT(*) AS n FROM sessions"},
                headers={"Authorization": f"Bearer {standin.token}", "X-Activeloop-Org-Id": standin.org_id},
            ).json()
            rows = answer["rows"][0][0]
            print(f"stand-in requests: {len(standin.requests)}, peak in flight: {standin.max_in_flight}")
        time.sleep(0.5)  # let the last drainer release its lock before the directory goes
        rows -= prefilled
        print(
            f"rows stored by the drainers: {rows} of {captured} capture events"
            + ("" if rows == captured else "  <-- LOST EVENTS")
        )
    return 0 if rows == captured else 1


if __name__ == "__main__":
    sys.exit(main())
