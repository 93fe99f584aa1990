"""Configuration and the CLI with Deeplake: store selection, login, status and doctor."""

from __future__ import annotations

import io
import json
import os
import stat

import pytest

from lakeloop.cli.main import main

TOKEN = "dl-secret-token-0123456789"


@pytest.fixture
def creds_file(tmp_path, monkeypatch):
    path = tmp_path / "home" / ".deeplake" / "credentials.json"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in list(os.environ):
        if name.startswith("LAKELOOP_DEEPLAKE_") or name == "LAKELOOP_STORE":
            monkeypatch.delenv(name)
    import lakeloop.deeplake.client as client_module

    monkeypatch.setattr(client_module, "_shared", None)
    return path


def test_login_writes_the_shared_credentials_file_0600(creds_file, capsys, monkeypatch):
    """`lakeloop login` writes ~/.deeplake/credentials.json with mode 0600 and never prints the token;
    `--token -` reads it from stdin."""
    monkeypatch.setattr("sys.stdin", io.StringIO(TOKEN + "\n"))
    assert main(["login", "--token", "-", "--org-id", "org-1", "--org-name", "acme"]) == 0
    out = capsys.readouterr().out
    assert TOKEN not in out and str(creds_file) in out
    assert stat.S_IMODE(creds_file.stat().st_mode) == 0o600
    assert json.loads(creds_file.read_text()) == {"token": TOKEN, "orgId": "org-1", "orgName": "acme"}
    assert main(["login", "--token", "t2", "--org-id", "org-2"]) == 0  # keeps orgName
    assert json.loads(creds_file.read_text()) == {"token": "t2", "orgId": "org-2", "orgName": "acme"}


def test_store_selection(creds_file, monkeypatch):
    """Credentials select the Deeplake store; none select the embedded one; LAKELOOP_STORE forces."""
    from lakeloop.errors import StoreUnavailable
    from lakeloop.store import current_identity, open_store

    assert open_store().name == "embedded"
    creds_file.parent.mkdir(parents=True)
    creds_file.write_text(
        json.dumps(
            {
                "token": TOKEN,
                "orgId": "o",
                "orgName": "acme",
                "userName": "ann",
                "workspaceId": "ws1",
                "apiUrl": "http://127.0.0.1:9",
            }
        )
    )
    store = open_store()
    assert store.name == "deeplake" and store.path == "http://127.0.0.1:9/workspaces/ws1"
    monkeypatch.delenv("LAKELOOP_USER")
    assert current_identity().session_path("s") == "/sessions/ann/ann_acme_ws1_s.jsonl"
    monkeypatch.setenv("LAKELOOP_STORE", "embedded")
    assert open_store().name == "embedded"
    creds_file.unlink()
    monkeypatch.setenv("LAKELOOP_STORE", "deeplake")
    with pytest.raises(StoreUnavailable, match="no Deeplake credentials"):
        open_store()
    creds_file.write_text("{not json")
    monkeypatch.setenv("LAKELOOP_STORE", "")
    assert open_store().name == "embedded"


def test_environment_credentials_win(creds_file, monkeypatch):
    """LAKELOOP_DEEPLAKE_TOKEN + LAKELOOP_DEEPLAKE_ORG_ID select Deeplake without a file; repr hides the token."""
    from lakeloop.deeplake.credentials import load

    monkeypatch.setenv("LAKELOOP_DEEPLAKE_TOKEN", TOKEN)
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_ORG_ID", "org-env")
    creds = load()
    assert creds.org_id == "org-env" and creds.workspace == "default" and creds.api_url == "https://api.deeplake.ai"
    assert TOKEN not in repr(creds)


def _use(standin, monkeypatch):
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_TOKEN", standin.token)
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_ORG_ID", standin.org_id)
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_WORKSPACE", standin.workspace)
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_API_URL", standin.base_url)


def test_status_and_doctor_name_the_deeplake_store(creds_file, deeplake, monkeypatch, capsys):
    """status names the Deeplake store; doctor's one round trip succeeds (and, with an agent CLI
    present, every check passes: exit 0)."""
    import sys

    _use(deeplake, monkeypatch)
    monkeypatch.setenv("LAKELOOP_CLAUDE_BIN", sys.executable)  # any executable file passes the check
    assert main(["status", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["store"]["kind"] == "deeplake" and info["store"]["location"].startswith(deeplake.base_url)
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "store:     ok      deeplake at" in out and deeplake.token not in out


@pytest.mark.parametrize(
    "setting, words",
    [
        ({"payment_required": True}, "out of credits (HTTP 402)"),
        ({"fail_sequence": [503, 503, 503, 503]}, "failing right now (HTTP 503)"),
        ({"drop_sequence": [True, True, True, True]}, "cannot reach"),
    ],
)
def test_doctor_explains_failures_in_plain_words(creds_file, deeplake, monkeypatch, capsys, setting, words):
    """doctor reports what failed in plain words, after one round trip, and exits 1."""
    _use(deeplake, monkeypatch)
    deeplake.configure(**setting)
    deeplake.reset_counters()
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert words in out and deeplake.token not in out
    assert len(deeplake.requests) == 1


def test_doctor_explains_a_refused_token(creds_file, deeplake, monkeypatch, capsys):
    """A wrong token: doctor says the credentials were refused."""
    _use(deeplake, monkeypatch)
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_TOKEN", "wrong-token")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "refused the credentials (HTTP 401)" in out and "wrong-token" not in out
