"""``lakeloop ui`` as a process: the URL line, a quiet Ctrl-C, a busy port, loopback only, the
browser opened once (or not), and the web libraries kept off every hook path."""

from __future__ import annotations

import errno
import re
import signal
import socket
import subprocess
import sys

import pytest

from tests.support.cli import run_lakeloop
from tests.support.import_graph import build_graph
from tests.support.repo import PLUGIN_SRC
from tests.support.ui import start_ui

WEB_MODULES = ("starlette", "uvicorn", "jinja2")


def test_it_prints_one_url_line_and_stops_quietly_on_ctrl_c():
    ui = start_ui()
    assert re.fullmatch(r"lakeloop ui: http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]{43}", ui.first_line)
    with ui.signed_in() as client:
        assert client.get("/").status_code == 200
    code, out, err = ui.stop(timeout=5.0)
    assert code == 0
    assert err == ""
    assert out == "Ctrl-C stops it.\nlakeloop ui stopped\n"


def test_sigterm_stops_it_too(running_ui):
    running_ui.proc.send_signal(signal.SIGTERM)
    running_ui.proc.wait(timeout=5.0)
    code, out, err = running_ui.stop(timeout=5.0)
    assert (code, err) == (0, "")
    assert out.endswith("lakeloop ui stopped\n")


def test_a_busy_port_is_refused_in_one_line():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = run_lakeloop("ui", "--no-browser", "--port", str(port), timeout=30)
    from lakeloop.errors import RequestRefused

    assert done.returncode == RequestRefused.exit_code  # the refused-request code of every command
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert f"port {port} is in use on 127.0.0.1; try --port 0" in done.stderr


def test_it_listens_on_loopback_only(running_ui):
    from lakeloop.ui.server import bind_loopback

    sock = bind_loopback(0)
    try:
        assert sock.getsockname()[0] == "127.0.0.1"
    finally:
        sock.close()
    # Another loopback address of this machine: nothing listens there on the dashboard's port.
    with socket.socket() as probe:
        probe.settimeout(2)
        assert probe.connect_ex(("127.0.0.2", running_ui.port)) == errno.ECONNREFUSED
    with socket.socket() as probe:
        probe.settimeout(2)
        assert probe.connect_ex(("127.0.0.1", running_ui.port)) == 0


@pytest.mark.parametrize(("argv", "opened"), [(["ui", "--port", "0"], 1), (["ui", "--no-browser"], 0)])
def test_the_browser_opens_once_with_the_url_unless_no_browser(monkeypatch, capsys, argv, opened):
    import webbrowser

    import uvicorn

    from lakeloop.cli.main import main

    calls: list[str] = []
    served: list[list[socket.socket]] = []
    monkeypatch.setattr(webbrowser, "open", lambda url, *a, **k: calls.append(url))

    def run(self, sockets=None):
        served.append(sockets)
        self.started = True

    monkeypatch.setattr(uvicorn.Server, "run", run)
    before = signal.getsignal(signal.SIGTERM)
    assert main(argv) == 0
    assert signal.getsignal(signal.SIGTERM) is before  # serve put back the handler it replaced
    printed = capsys.readouterr().out.splitlines()
    url = printed[0].removeprefix("lakeloop ui: ")
    assert served and served[0][0].family == socket.AF_INET
    if opened:  # on the page that refreshes to the URL (tests/ui/test_read_only.py)
        assert len(calls) == 1 and calls[0].startswith("file:///") and url.split("=")[1] not in calls[0]
    else:
        assert calls == []
    assert printed[-1] == "lakeloop ui stopped"


def test_hooks_import_none_of_the_web_libraries():
    code = (
        "import sys, lakeloop.hooks.main, lakeloop.hooks.capture, lakeloop.hooks.pre_tool_use, "
        "lakeloop.hooks.session_start, lakeloop.hooks.session_end, lakeloop.cli.main\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {WEB_MODULES!r} or m.startswith('lakeloop.ui')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(PLUGIN_SRC), "PATH": "/usr/bin:/bin"},
    ).stdout
    assert out.strip() == "[]"


def test_no_import_path_leads_from_a_hook_to_the_dashboard():
    adjacency = build_graph().adjacency()
    reached: set[str] = set()
    todo = [m for m in adjacency if m.startswith("lakeloop.hooks")]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo.extend(adjacency.get(module, ()))
    assert not [m for m in reached if m == "lakeloop.ui" or m.startswith("lakeloop.ui.")]
    assert not [m for m in reached if m == "lakeloop.cli.ui"]


@pytest.mark.parametrize("store_kind", ["deeplake"], indirect=True)
def test_on_deeplake_the_overview_sends_one_query_per_section_and_none_on_a_reload(store_kind, deeplake):
    from lakeloop.store import open_store
    from tests.support.stores import stop_rows

    with open_store() as store:
        store.append_session_rows(stop_rows(3))
        store.skill_rows(scope="proposal")  # the skills table exists before the count starts
    deeplake.reset_counters()
    ui = start_ui(LAKELOOP_UI_CACHE_S="30")
    try:
        with ui.signed_in() as client:
            first = client.get("/")
            after_first = list(deeplake.queries())
            second = client.get("/")
            after_second = list(deeplake.queries())
    finally:
        ui.stop()
    assert first.status_code == second.status_code == 200
    assert "reachable" in first.text and ">dev</a>" in first.text
    assert len(after_first) == 2  # activity + proposals waiting
    assert after_second == after_first
    assert not [q for q in after_first if re.match(r"\s*(INSERT|UPDATE|DELETE|CREATE|DROP|ALTER)", q, re.I)]
