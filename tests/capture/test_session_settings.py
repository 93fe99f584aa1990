"""What is stored of an event is decided by the session that captured it, not by the drainer.

The hook records the session's ``LAKELOOP_CAPTURE``, ``LAKELOOP_EXCLUDE``, ``LAKELOOP_REDACT``,
``LAKELOOP_REDACT_PATTERNS`` (and ``HOME``, for ``~`` in the globs) in the outbox entry
(``lakeloop.outbox.spool``); the drainer applies those, whoever started it and whatever its own
environment holds. Checked through the real entry points: ``hooks/run`` (and ``hooks/bootstrap.py``)
spool, and the events are drained either by a drainer another session's hook started, or by a
``lakeloop flush`` run with a different environment (the test holds the drain lock while the
hooks spool, so no hook starts a drainer of its own). Also: exclusion through symbolic links (a
symlinked cwd's real path, a glob spelled through a link, ``<link>/..``), the row's author (the
session's ``LAKELOOP_USER`` or login name, recorded too), and the header's robustness (hostile and
oversized values, a payload that imitates it, an entry written without it).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys

import pytest

from lakeloop import outbox, paths
from lakeloop.outbox import lock
from lakeloop.outbox.spool import MAX_SETTING_BYTES, SETTINGS_MAGIC, split_entry
from tests.support.capture import capture, drained_up_to, prompt, stop, stored, tool
from tests.support.hooks import run_hook
from tests.support.logs import log_text
from tests.support.payloads import first_payload
from tests.support.repo import PLUGIN_SRC, REPO
from tests.support.waiting import wait_until

TOKEN = "ghp_" + "Zq9" * 12  # a GitHub token shape: redacted by default
OTHER_TOKEN = "ghp_" + "Wx7" * 12


def contents() -> dict[str, str]:
    """``{session id: content}`` of the stored prompts and answers."""
    return {m["session_id"]: m.get("content", "") for m in stored() if m["type"] != "tool_call"}


def flush(**env: str) -> str:
    """``lakeloop flush`` as its own process with the test's environment plus ``env`` (a value
    of None removes the variable); returns its output. Fails unless the outbox ends empty."""
    full = {**os.environ, "PYTHONPATH": str(PLUGIN_SRC), **{k: v for k, v in env.items() if v is not None}}
    for name in [k for k, v in env.items() if v is None]:
        full.pop(name, None)
    proc = subprocess.run(
        [sys.executable, "-m", "lakeloop.cli.main", "flush"], env=full, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


class HeldLock:
    """Holds the drain lock (as a running drainer would), so a hook only spools its event."""

    def __enter__(self) -> HeldLock:
        os.makedirs(outbox.outbox_dir(), exist_ok=True)
        self.fd = lock.try_lock(outbox.outbox_dir())
        assert self.fd is not None, "a drainer is already running"
        return self

    def __exit__(self, *exc: object) -> None:
        lock.unlock(self.fd)


def _prompt(session: str, cwd, text: str) -> dict:
    return prompt(cwd, text, session)


# -- the drainer applies each entry's settings ----------------------------------------------------


def test_an_excluded_sessions_prompt_is_not_stored_by_another_sessions_drainer(tmp_path):
    """Session A (no exclusion) starts a drainer that lingers; session B, with
    LAKELOOP_EXCLUDE="~/clients/*" and working in ~/clients/acme/x, spools its prompt while A's
    drainer runs. That drainer (which has no LAKELOOP_EXCLUDE) does not store B's prompt."""
    home = tmp_path / "home"
    open_project, client = home / "work" / "open", home / "clients" / "acme" / "x"
    open_project.mkdir(parents=True)
    client.mkdir(parents=True)
    capture("UserPromptSubmit", _prompt("sess-a", open_project, "A's first prompt"), LAKELOOP_DRAIN_LINGER_S="10")
    wait_until(lambda: "A's first prompt" in contents().values(), 60, "A's prompt stored by A's drainer")
    assert lock.held_by_other(outbox.outbox_dir()), "A's drainer should still be lingering"
    capture("UserPromptSubmit", _prompt("sess-b", client, "B's client prompt"), LAKELOOP_EXCLUDE="~/clients/*")
    capture("Stop", stop(open_project, "A's sentinel"), LAKELOOP_DRAIN_LINGER_S="10")
    wait_until(lambda: "A's sentinel" in contents().values(), 60, "A's sentinel")
    assert "B's client prompt" not in json.dumps(stored())
    log = log_text()
    drainer_pid = re.search(r"pid=(\d+) captured user_message session=sess-a", log).group(1)
    assert re.search(
        rf"pid={drainer_pid} not captured \(project excluded: LAKELOOP_EXCLUDE pattern "
        rf"'{re.escape(str(home))}/clients/\*'\)",
        log,
    ), log
    wait_until(lambda: not lock.held_by_other(outbox.outbox_dir()), 60, "A's drainer to exit")


def test_each_sessions_settings_apply_to_its_own_events_only(tmp_path):
    """Five sessions spool while no drainer runs; one ``lakeloop flush`` whose own environment
    excludes nothing, turns redaction and capture off, has a pattern and a HOME of its own stores them.
    Each event is treated as its session said: excluded, custom patterns (across several lines),
    redaction off for one session only, capture off for one session only."""
    home = tmp_path / "home"
    project, client = home / "work" / "p", home / "clients" / "acme"
    project.mkdir(parents=True)
    client.mkdir(parents=True)
    patterns = "\n\nticket-[0-9]{4}\n  \ninternal-[a-z]+\n"
    with HeldLock():
        capture("UserPromptSubmit", _prompt("excl", client, "excluded client prompt"), LAKELOOP_EXCLUDE="~/clients/*")
        capture(
            "UserPromptSubmit",
            _prompt("pat", project, f"see ticket-1234 and internal-host zebra-77 {TOKEN}"),
            LAKELOOP_REDACT_PATTERNS=patterns,
        )
        call = tool(project, "ticket-4321 printed")
        call["session_id"] = "pat"
        capture("PostToolUse", call, LAKELOOP_REDACT_PATTERNS=patterns)
        capture("UserPromptSubmit", _prompt("plain", project, f"see ticket-5678 and internal-host zebra-88 {TOKEN}"))
        capture("UserPromptSubmit", _prompt("off", project, f"keep {OTHER_TOKEN} as typed"), LAKELOOP_REDACT="0")
        capture("UserPromptSubmit", _prompt("nocap", project, "capture is off here"), LAKELOOP_CAPTURE="0")
        assert len(outbox.pending()) == 6
    out = flush(
        LAKELOOP_EXCLUDE=None,
        LAKELOOP_REDACT="0",
        LAKELOOP_REDACT_PATTERNS="zebra-[0-9]+",
        LAKELOOP_CAPTURE="0",
        HOME=str(tmp_path / "elsewhere"),
    )  # "~" is the session's HOME
    assert "stored 4 event(s)" in out
    got = contents()
    assert set(got) == {"pat", "plain", "off"}
    assert got["pat"].startswith("see [REDACTED:custom] and [REDACTED:custom] zebra-77 [REDACTED:")
    assert got["plain"].startswith("see ticket-5678 and internal-host zebra-88 [REDACTED:")
    assert got["off"] == f"keep {OTHER_TOKEN} as typed"
    stored_text = json.dumps(stored())
    assert TOKEN not in stored_text and "ticket-4321" not in stored_text and "excluded client prompt" not in stored_text


def test_the_reaction_text_is_cleaned_with_the_sessions_settings(tmp_path, monkeypatch):
    """The reaction handed to the judge is cleaned with the prompt's session's settings (its custom
    pattern; redaction on) even when ``lakeloop flush`` runs with LAKELOOP_REDACT=0."""
    from lakeloop.cli.main import main
    from lakeloop.skillopt import pending

    jobs: list[dict] = []
    monkeypatch.setattr(
        "lakeloop.jobs.submit", lambda kind, key, payload, **kw: jobs.append(payload) or "new", raising=False
    )
    for session in ("pat", "plain"):
        pending.arm(session, "db-migrate--alice", "toolu_1", 3, 1)
    with HeldLock():
        capture(
            "UserPromptSubmit",
            _prompt("pat", tmp_path, f"no, ticket-1234 broke it {TOKEN}"),
            LAKELOOP_REDACT_PATTERNS="ticket-[0-9]{4}",
        )
        capture("UserPromptSubmit", _prompt("plain", tmp_path, f"no, ticket-9999 broke it {TOKEN}"))
    monkeypatch.setenv("LAKELOOP_REDACT", "0")
    assert main(["flush"]) == 0
    reactions = {job["session_id"]: job["reaction"] for job in jobs}
    assert reactions["pat"].startswith("no, [REDACTED:custom] broke it [REDACTED:")
    assert reactions["plain"].startswith("no, ticket-9999 broke it [REDACTED:")
    assert TOKEN not in json.dumps(reactions)


def test_the_worker_publishes_as_the_reacting_sessions_user(tmp_path, monkeypatch):
    """The skill worker started by a reaction records the reacting session's user as the author of
    what it publishes, not the user of whoever drains the outbox."""
    from lakeloop.cli.main import main
    from lakeloop.skillopt import pending

    jobs: list[dict] = []
    monkeypatch.setattr(
        "lakeloop.jobs.submit", lambda kind, key, payload, **kw: jobs.append(payload) or "new", raising=False
    )
    pending.arm("s-alice", "db-migrate--alice", "toolu_1", 3, 1)
    with HeldLock():
        capture("UserPromptSubmit", _prompt("s-alice", tmp_path, "no, that broke the build"), LAKELOOP_USER="alice")
    monkeypatch.setenv("LAKELOOP_USER", "bob")
    assert main(["flush"]) == 0
    assert [job.get("user") for job in jobs] == ["alice"]


def test_bootstrap_spools_with_the_sessions_settings(tmp_path):
    """Before the plugin's virtualenv exists, ``hooks/bootstrap.py`` (system python, standard
    library only) spools the event with the session's settings too."""
    venv = tmp_path / "plugin-data" / "venv"
    venv.parent.mkdir(parents=True)
    (tmp_path / "plugin-data" / "venv.building").write_text("")  # a build is under way: none started
    client = tmp_path / "home" / "clients" / "acme"
    payload = json.dumps(_prompt("boot", client, "typed before the venv was ready")).encode()
    env = {**os.environ, "LAKELOOP_EXCLUDE": "~/clients/*"}
    subprocess.run(
        [sys.executable, str(REPO / "hooks" / "bootstrap.py"), str(venv), "UserPromptSubmit"],
        input=payload,
        env=env,
        check=True,
        timeout=60,
    )
    [entry] = outbox.pending()
    settings, cut, body = split_entry((paths.data_dir() / "outbox" / entry).read_bytes())
    assert settings["LAKELOOP_EXCLUDE"] == "~/clients/*" and settings["HOME"] == str(tmp_path / "home")
    assert (cut, body) == ((), payload)
    assert "stored 0 event(s)" in flush(LAKELOOP_EXCLUDE=None)
    assert stored() == []


# -- a symlinked working directory ------------------------------------------------------------------


def test_exclusion_applies_to_a_symlinked_cwds_real_path(tmp_path):
    """A session working through a symbolic link is excluded when the link's target is: by a
    .lakeloop-ignore above the real path, or by a glob that matches the real path only."""
    real = tmp_path / "real"
    (real / "clients" / "acme" / "src").mkdir(parents=True)
    (real / "clients" / ".lakeloop-ignore").write_text("")
    (real / "secret-x").mkdir()
    (real / "open").mkdir()
    links = tmp_path / "links"
    links.mkdir()
    (links / "acme").symlink_to(real / "clients" / "acme")
    (links / "s").symlink_to(real / "secret-x")
    (links / "o").symlink_to(real / "open")
    exclude = f"{real}/secret-*"
    capture("UserPromptSubmit", prompt(links / "acme" / "src", "ignored through the link"), LAKELOOP_EXCLUDE=exclude)
    capture("UserPromptSubmit", prompt(links / "s", "globbed through the link"), LAKELOOP_EXCLUDE=exclude)
    capture("UserPromptSubmit", prompt(links / "o", "kept through the link"), LAKELOOP_EXCLUDE=exclude)
    rows = drained_up_to("sentinel symlink")
    assert [m["content"] for m in rows] == ["kept through the link", "sentinel symlink"]
    log = log_text()
    assert f".lakeloop-ignore in {real / 'clients'}" in log and f"LAKELOOP_EXCLUDE pattern '{exclude}'" in log


def test_globs_and_ignore_files_are_matched_through_symlinks_on_either_side(tmp_path):
    """Claude Code reports the physical cwd. A glob spelled through a symbolic link (``~`` with a
    symlinked HOME, an absolute glob through a linked directory, a wildcard-free one) still
    excludes it, and a cwd ``<link>/..`` is resolved before ``..`` is tidied away (the parent of
    the link's target, for a glob or a .lakeloop-ignore). Stored by a ``lakeloop flush`` that has
    no LAKELOOP_EXCLUDE."""
    real_home = tmp_path / "real-home"
    acme = real_home / "clients" / "acme" / "x"
    (acme / "sub").mkdir(parents=True)
    quiet = real_home / "quiet"
    (quiet / "proj" / "sub").mkdir(parents=True)
    (quiet / ".lakeloop-ignore").write_text("")
    open_project = real_home / "work" / "open"
    open_project.mkdir(parents=True)
    link_home = tmp_path / "link-home"
    link_home.symlink_to(real_home)
    (tmp_path / "to-acme-sub").symlink_to(acme / "sub")
    (tmp_path / "to-quiet-sub").symlink_to(quiet / "proj" / "sub")
    cases = {  # session: (cwd, the session's settings)
        "tilde": (acme, {"HOME": str(link_home), "LAKELOOP_EXCLUDE": "~/clients/*"}),
        "through-link": (acme, {"LAKELOOP_EXCLUDE": f"/nowhere/*:{link_home}/clients/*"}),
        "no-wildcard": (acme / "sub", {"LAKELOOP_EXCLUDE": f"{link_home}/clients/acme/x/"}),
        "dotdot-glob": (f"{tmp_path}/to-acme-sub/..", {"LAKELOOP_EXCLUDE": f"{real_home}/clients/*"}),
        "dotdot-ignore": (f"{tmp_path}/to-quiet-sub/..", {}),
        "kept": (open_project, {"HOME": str(link_home), "LAKELOOP_EXCLUDE": "~/clients/*"}),
    }
    with HeldLock():
        for session, (cwd, env) in cases.items():
            capture("UserPromptSubmit", _prompt(session, cwd, f"prompt of {session}"), **env)
    assert "stored 1 event(s)" in flush(LAKELOOP_EXCLUDE=None)
    assert contents() == {"kept": "prompt of kept"}
    log = log_text()
    for reason in (
        f"LAKELOOP_EXCLUDE pattern '{link_home}/clients/*'",
        f"LAKELOOP_EXCLUDE pattern '{real_home}/clients/*'",
        f"LAKELOOP_EXCLUDE pattern '{link_home}/clients/acme/x/'",
        f".lakeloop-ignore in {quiet}",
    ):
        assert f"not captured (project excluded: {reason})" in log, reason


def test_a_cwd_through_a_link_and_dotdot_is_also_checked_as_written(tmp_path):
    """``<link>/..`` is checked both ways: tidied (the directory holding the link) and resolved
    (the parent of its target); a glob matching either form excludes the session."""
    target = tmp_path / "t" / "deep" / "leaf"
    target.mkdir(parents=True)
    here = tmp_path / "here" / "spot"
    here.mkdir(parents=True)
    (here / "ln").symlink_to(target)
    cwd = f"{here}/ln/.."
    with HeldLock():
        capture("UserPromptSubmit", _prompt("tidied", cwd, "tidied form"), LAKELOOP_EXCLUDE=f"{tmp_path}/here/*")
        capture("UserPromptSubmit", _prompt("resolved", cwd, "resolved form"), LAKELOOP_EXCLUDE=f"{tmp_path}/t/deep")
        capture("UserPromptSubmit", _prompt("neither", cwd, "neither form"), LAKELOOP_EXCLUDE=f"{tmp_path}/t/x*")
    flush()
    assert contents() == {"neither": "neither form"}


# -- whom the row is filed under ---------------------------------------------------------------------


def authors() -> dict[str, tuple[str, str]]:
    """``{session id: (author, path)}`` of the stored rows (the columns, read from the store file)."""
    db = sqlite3.connect(paths.store_file())
    try:
        rows = db.execute("SELECT message, author, path FROM sessions")
        return {json.loads(message)["session_id"]: (author, path) for message, author, path in rows}
    finally:
        db.close()


def test_the_row_is_filed_under_the_capturing_sessions_user(tmp_path):
    """Alice's prompt stored by bob's ``lakeloop flush`` is alice's: the author and the row's path
    come from the session's LAKELOOP_USER, else its login-name variables (LOGNAME, then USER...,
    as ``getpass`` reads them); an entry without a header (an older lakeloop's) is filed under
    the drainer's own user, with the log line such entries get."""
    with HeldLock():
        capture("UserPromptSubmit", _prompt("s-alice", tmp_path, "alice's prompt"), LAKELOOP_USER="alice")
        capture(
            "UserPromptSubmit",
            _prompt("s-login", tmp_path, "no LAKELOOP_USER"),
            LAKELOOP_USER=" ",
            LOGNAME="dave",
            USER="erin",
        )
        capture("UserPromptSubmit", _prompt("s-user", tmp_path, "USER only"), LAKELOOP_USER="", LOGNAME="", USER="erin")
    name = f"{1_700_000_000_000_000_000:020d}-1-abcdef03-UserPromptSubmit.json"
    (paths.data_dir() / "outbox" / name).write_bytes(json.dumps(_prompt("s-old", tmp_path, "old entry")).encode())
    assert "stored 4 event(s)" in flush(LAKELOOP_USER="bob", LOGNAME="bob", USER="bob")
    got = authors()
    for session, user in {"s-alice": "alice", "s-login": "dave", "s-user": "erin", "s-old": "bob"}.items():
        author, path = got[session]
        assert (author, path) == (user, f"/sessions/{user}/{user}_local_default_{session}.jsonl"), session
    assert "UserPromptSubmit entry has no settings header (spooled by an older lakeloop)" in log_text()


def test_on_deeplake_the_sessions_user_wins_over_the_credentials_and_the_drainers(tmp_path, monkeypatch):
    """On Deeplake the author is the session's LAKELOOP_USER, else the credentials' user name; the
    drainer's own LAKELOOP_USER is never used for an entry that recorded its session's values."""
    from lakeloop import config
    from lakeloop.outbox.spool import RECORDED_SETTINGS
    from lakeloop.store import current_identity

    assert {"LAKELOOP_USER", *config.LOGIN_NAME_VARIABLES} <= set(RECORDED_SETTINGS)
    creds = tmp_path / "creds.json"
    creds.write_text(
        json.dumps({"token": "t", "orgId": "o1", "orgName": "acme", "userName": "ann", "workspaceId": "ws"})
    )
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_CREDENTIALS", str(creds))
    monkeypatch.setenv("LAKELOOP_USER", "bob")  # the drainer's
    alice = current_identity({"LAKELOOP_USER": "alice", "USER": "x"})
    assert alice.session_path("s") == "/sessions/alice/alice_acme_ws_s.jsonl"
    assert current_identity({"USER": "x"}).user == "ann"
    assert current_identity().user == "bob"


# -- the header: hostile and oversized values, imitations, older entries ---------------------------------


def test_hostile_setting_values_are_recorded_whole():
    """Values with newlines, spaces, '=' and non-ASCII bytes survive the header as they were."""
    from lakeloop.outbox.spool import settings_header

    values = {"LAKELOOP_EXCLUDE": "~/a b\n:x=y é", "LAKELOOP_REDACT_PATTERNS": "a\nb c\n\n", "LAKELOOP_REDACT": ""}
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        header = settings_header()
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    assert header.count(b"\n") == 1 and header.startswith(SETTINGS_MAGIC)
    settings, cut, body = split_entry(header + b"{}")
    assert cut == () and body == b"{}"
    assert {k: settings[k] for k in values} == values and "LAKELOOP_CAPTURE" not in settings


@pytest.mark.parametrize("name", ["LAKELOOP_REDACT_PATTERNS", "LAKELOOP_EXCLUDE"])
def test_an_oversized_setting_is_cut_and_the_event_not_stored(tmp_path, name):
    """A value over 64 KiB is recorded cut (the header stays bounded) and the drainer stores
    nothing of that event, saying which variable; the value never reaches the log."""
    huge = "zq" + "x" * (MAX_SETTING_BYTES + 10)
    capture("Stop", stop(tmp_path, "answer under a huge setting"), **{name: huge})
    rows = drained_up_to("sentinel huge")
    assert [m["content"] for m in rows] == ["sentinel huge"]
    log = log_text()
    assert f"not captured: {name} over {MAX_SETTING_BYTES} bytes in its session, recorded cut" in log
    assert "zqxxxx" not in log


def test_a_payload_imitating_the_header_cannot_set_the_settings(tmp_path):
    """Stdin that begins with the header's magic and LAKELOOP_REDACT=0 is payload after the
    hook's own header: it does not parse, is kept in outbox/failed/, and nothing is stored."""
    body = json.dumps(stop(tmp_path, f"spoofed {TOKEN}")).encode()
    raw = SETTINGS_MAGIC + b" LAKELOOP_REDACT=30 LAKELOOP_CAPTURE=31\n" + body
    run_hook("Stop", raw, LAKELOOP_DRAIN_LINGER_S="0")  # exit 0 asserted
    rows = drained_up_to("sentinel spoof")
    assert TOKEN not in json.dumps(rows) and [m["content"] for m in rows] == ["sentinel spoof"]
    [kept] = (paths.data_dir() / "outbox" / "failed").glob("*.json")
    settings, _cut, payload = split_entry(kept.read_bytes())
    assert payload == raw and "LAKELOOP_REDACT" not in settings
    assert "hook payload refused" in log_text()


def test_an_entry_without_a_header_gets_the_safe_defaults(tmp_path):
    """An entry an older lakeloop wrote (payload only) is stored with redaction on, no custom
    pattern and no LAKELOOP_EXCLUDE, whatever the drainer's environment says, with one log line."""
    client = tmp_path / "home" / "clients" / "acme"
    payload = stop(client, f"old entry ticket-1234 {TOKEN}")
    os.makedirs(outbox.outbox_dir(), exist_ok=True)
    name = f"{1_700_000_000_000_000_000:020d}-1-abcdef01-Stop.json"
    (paths.data_dir() / "outbox" / name).write_bytes(json.dumps(payload).encode())
    out = flush(LAKELOOP_REDACT="0", LAKELOOP_REDACT_PATTERNS="ticket-[0-9]{4}", LAKELOOP_EXCLUDE="~/clients/*")
    assert "stored 1 event(s)" in out
    [content] = contents().values()
    assert content.startswith("old entry ticket-1234 [REDACTED:") and TOKEN not in content
    assert log_text().count("entry has no settings header (spooled by an older lakeloop)") == 1


def test_a_header_that_does_not_parse_keeps_the_entry_aside(tmp_path):
    """A header with the magic but a value that is not hex: the entry goes to outbox/failed/."""
    os.makedirs(outbox.outbox_dir(), exist_ok=True)
    name = f"{1_700_000_000_000_000_000:020d}-1-abcdef02-Stop.json"
    raw = SETTINGS_MAGIC + b" LAKELOOP_REDACT=zz\n" + json.dumps(stop(tmp_path, f"x {TOKEN}")).encode()
    (paths.data_dir() / "outbox" / name).write_bytes(raw)
    flush()
    assert stored() == [] and (paths.data_dir() / "outbox" / "failed" / name).read_bytes() == raw


def test_a_first_payload_line_is_never_taken_for_a_header():
    """Only bytes that begin with the magic are a header; JSON payloads (which begin with '{' or
    whitespace) never are, whatever they contain."""
    payload = json.dumps(first_payload("Stop")).encode()
    for data in (payload, b"\n" + SETTINGS_MAGIC + b" LAKELOOP_REDACT=30\n" + payload, b" " + SETTINGS_MAGIC):
        assert split_entry(data) == (None, (), data)
