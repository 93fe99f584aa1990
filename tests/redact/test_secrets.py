"""Secret redaction before storage.

A corpus of secrets (AWS, GitHub, Slack, Stripe, JWT, PEM private keys, URL passwords, .env
lines, JSON, Anthropic, bearer headers) is put in every captured field (the prompt, a Bash
call's tool_input and tool_response, a Read of a JSON file, Stop's last_assistant_message)
and sent through the real ``hooks/run`` on the embedded store and on the Deeplake stand-in:
no secret, and no distinctive piece of one, is in the stored rows (searched in the stored
message JSON and in every nested JSON string decoded). Git hashes, UUIDs and hex/base64
identifiers are left alone; ``LAKELOOP_REDACT=0`` stores everything verbatim;
``LAKELOOP_REDACT_PATTERNS`` adds patterns. The synthetic secrets are generated in
``tests/support/secret_corpus.py`` (no real credential is in either file).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lakeloop import paths
from tests.support.capture import capture, send_all, stored_messages
from tests.support.logs import log_text
from tests.support.payloads import first_payload
from tests.support.repo import REPO
from tests.support.secret_corpus import (
    BENIGN,
    BENIGN_TEXT,
    RSA_KEY,
    SECRETS,
    assert_no_secret,
    events,
    fragments,
    haystacks,
)
from tests.support.waiting import wait_until

# -- through hooks/run ---------------------------------------------------------------------------


def test_no_secret_survives_in_the_embedded_store():
    """Every secret of the corpus, in every captured field, is redacted before the embedded store;
    the benign look-alikes are kept; JSON fields stay JSON; the log names kinds, never secrets."""
    send_all(events())
    texts = wait_until(lambda: (m := stored_messages()) and len(m) == 4 and m, 60, "4 stored rows")
    assert_no_secret(texts)
    hay = haystacks(texts)
    for value in BENIGN.values():
        assert all(value in json.loads(t).get("content", value) for t in texts if '"user_message"' in t), value
    prompt = next(json.loads(t) for t in texts if '"user_message"' in t)["content"]
    for kind in (
        "aws_key",
        "github_token",
        "slack_token",
        "stripe_key",
        "jwt",
        "anthropic_key",
        "url_password",
        "assignment",
        "bearer_token",
        "private_key",
    ):
        assert f"[REDACTED:{kind}]" in prompt, kind
    assert "postgres://deploy:[REDACTED:url_password]@db.internal:5432/app" in prompt  # user and host kept
    assert "max_tokens" in prompt and BENIGN_TEXT in prompt
    for text in texts:
        message = json.loads(text)
        for field in ("tool_input", "tool_response"):
            if field in message:
                json.loads(message[field])  # still JSON
    read = next(json.loads(t) for t in texts if "config.json" in t)
    content = json.loads(json.loads(read["tool_response"])["file"]["content"])
    assert content["github_token"] == "[REDACTED:github_token]" and content["aws"]["secret_access_key"].startswith(
        "[REDACTED:"
    )
    log = log_text()
    assert "redacted " in log and "aws_key=" in log
    assert not [n for n, s in SECRETS.items() for f in fragments(n, s) if f in log]
    assert any(BENIGN["git_hash"] in h for h in hay)


def test_no_secret_survives_on_deeplake(deeplake, monkeypatch, tmp_path):
    """The same corpus through hooks/run on the Deeplake stand-in (the drainer's batched INSERT),
    plus the Deeplake token in use: nothing of them is in the stored rows."""
    import psycopg

    env = {
        "LAKELOOP_DEEPLAKE_TOKEN": deeplake.token,
        "LAKELOOP_DEEPLAKE_ORG_ID": deeplake.org_id,
        "LAKELOOP_DEEPLAKE_WORKSPACE": deeplake.workspace,
        "LAKELOOP_DEEPLAKE_API_URL": deeplake.base_url,
    }
    secrets = {**SECRETS, "deeplake_token": deeplake.token}
    send_all(events(extra=f"\nthe deeplake token is {deeplake.token} ok"), env)

    def rows() -> list[str]:
        try:
            with psycopg.connect(deeplake.dsn) as conn:
                return [r[0] for r in conn.execute("SELECT message::text FROM sessions")]
        except psycopg.errors.UndefinedTable:
            return []

    texts = wait_until(lambda: (r := rows()) and len(r) == 4 and r, 60, "4 rows on the stand-in")
    assert_no_secret(texts, secrets)
    prompt = next(json.loads(t) for t in texts if '"user_message"' in t)["content"]
    assert "the deeplake token is [REDACTED:deeplake_token] ok" in prompt
    assert BENIGN_TEXT in prompt
    assert deeplake.token not in log_text()


def test_redaction_off_stores_secrets_verbatim():
    """LAKELOOP_REDACT=0: the rows hold the text as sent."""
    send_all(events()[:1], {"LAKELOOP_REDACT": "0"})
    texts = wait_until(lambda: stored_messages(), 60, "the stored prompt")
    content = json.loads(texts[0])["content"]
    assert SECRETS["github_token"] in content and RSA_KEY in content and "[REDACTED:" not in content


def test_extra_patterns_apply_and_a_bad_one_is_logged_not_its_text():
    """LAKELOOP_REDACT_PATTERNS adds regexes (one per line); one that does not compile is logged by
    number (never its text) and ignored; the others still apply."""
    stop = first_payload("Stop")
    stop["last_assistant_message"] = f"ticket ACME-123456 and ACME-654321, build 42, token {SECRETS['github_token']}"
    capture("Stop", stop, LAKELOOP_REDACT_PATTERNS="ACME-[0-9]{6}\n(unclosed-s3cr3t-pattern\n")
    texts = wait_until(lambda: stored_messages(), 60, "the stored answer")
    content = json.loads(texts[0])["content"]
    assert content == ("ticket [REDACTED:custom] and [REDACTED:custom], build 42, token [REDACTED:github_token]")
    log = log_text()
    assert "LAKELOOP_REDACT_PATTERNS: pattern 2 is not a valid regular expression" in log
    assert "unclosed-s3cr3t-pattern" not in log and "custom=2" in log


# -- redact_text / redact_message ------------------------------------------------------------


@pytest.fixture
def redact(monkeypatch, tmp_path):
    import lakeloop.redact as module

    monkeypatch.setattr(module, "_built", {"key": None, "scanner": None, "scanners": {}})
    return module


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_each_secret_is_hidden_whole(redact, name):
    """Each corpus secret alone in a sentence: exactly its span is replaced by one marker (no piece
    left, a detector's capture group is not all that goes), the words around it kept."""
    secret = SECRETS[name]
    if name == "url_password":
        text = f"connect to https://bob:{secret}@example.com/x now"
    elif name.startswith("env_"):
        text = f"set it:\nMY_SECRET_TOKEN={secret}\ndone"
    elif name == "json_client_secret":
        text = f'{{"client_secret": "{secret}"}} done'
    elif name == "bearer":
        text = f"use Authorization: Bearer {secret} now"
    elif name == "aws_secret_key":
        text = f"aws_secret_access_key = '{secret}' now"
    else:
        text = f"see {secret} now"
    out, kinds = redact.redact_text(text)
    assert sum(kinds.values()) == 1, (out, kinds)
    head, tail = text.split(secret)
    assert out == f"{head}[REDACTED:{next(iter(kinds))}]{tail}"


@pytest.mark.parametrize(
    "text",
    sorted(BENIGN.values())
    + [
        "commit 3f786850e387550fdab836ed7e6dc881de23001b\nAuthor: Ann <ann@example.com>",
        "Merge: 1a2b3c4 5d6e7f8",
        '{"id": "123e4567-e89b-12d3-a456-426614174000", "sha": "da39a3ee5e6b4b0d3255bfef95601890afd80709"}',
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
        "def login(user, password=password):\n    token = fetch_token(user)\n    return token",
        "TOKEN_FILE=/etc/app/token\nPASSWORD_MIN_LENGTH=12\nexport GITHUB_TOKEN=$GITHUB_TOKEN\nAPI_KEY=${API_KEY}",
        '{"token_type": "bearer", "max_tokens": 4096, "tokenizer": "cl100k_base", "password": ""}',
        "https://user@example.com/path and https://example.com:8443/a@b",
        "docs: your Account SID looks like AC" + "x" * 32 + ", a key like ghp_" + "x" * 36,
        "conn = f'postgres://{user}:{password}@{host}/db'; headers = {'Authorization': auth_header}",
    ],
)
def test_ordinary_text_is_left_alone(redact, text):
    """Git hashes, UUIDs, digests, base64 data, code identifiers, placeholders (xxxx runs, masks)
    and references to secrets (variables, templates) are not secrets: unchanged."""
    assert redact.redact_text(text) == (text, {})


def test_redact_message_covers_every_string_field_but_the_row_identity(redact):
    """Content, tool_input, tool_response and any other string field (cwd, agent_type, nested) are
    redacted; id, session_id, type, timestamp, tool_use_id are never touched."""
    token = SECRETS["github_token"]
    message = {
        "id": token,
        "session_id": token,
        "type": "tool_call",
        "timestamp": token,
        "tool_use_id": token,
        "hook_event_name": "PostToolUse",
        "cwd": f"/home/{token}",
        "tool_input": json.dumps({"q": token}),
        "tool_response": json.dumps({"out": [token]}),
        "extra": {"deep": [token]},
    }
    kinds: dict[str, int] = {}
    out = redact.redact_message(message, kinds)
    assert kinds == {"github_token": 4}
    for key in ("id", "session_id", "timestamp", "tool_use_id"):
        assert out[key] == token
    assert token not in json.dumps({k: v for k, v in out.items() if k not in redact.STRUCTURAL})


def test_json_fields_stay_json_when_a_pattern_would_cut_a_quote(redact, monkeypatch):
    """A custom pattern spanning a JSON quote would break tool_response's JSON text: the field is
    then redacted value by value instead, and stays valid JSON with the secret gone."""
    monkeypatch.setenv("LAKELOOP_REDACT_PATTERNS", r'hunter2"?')  # in JSON text it takes the closing quote
    message = {"id": "e", "type": "tool_call", "tool_response": json.dumps({"x": "hunter2", "y": "ok"})}
    out = redact.redact_message(message)
    parsed = json.loads(out["tool_response"])
    assert "hunter2" not in out["tool_response"] and parsed == {"x": "[REDACTED:custom]", "y": "ok"}


def test_off_switch_returns_the_message_untouched(redact, monkeypatch):
    monkeypatch.setenv("LAKELOOP_REDACT", "0")
    message = {"id": "e", "type": "user_message", "content": SECRETS["github_token"]}
    assert redact.redact_message(message) is message


def test_detect_secrets_patterns_are_cached_for_later_processes(redact, tmp_path):
    """The first build imports detect-secrets and leaves its regexes (0600) in the data dir; a later
    process builds from that file without importing detect-secrets."""
    redact.redact_text("x")
    cache = paths.data_dir() / "redact-patterns.json"
    assert cache.stat().st_mode & 0o777 == 0o600
    assert any(kind == "github_token" for kind, _s, _f in json.loads(cache.read_text())["patterns"])
    code = (
        "import sys, lakeloop.redact as r; out = r.redact_text('x ghp_' + 'a' * 36)[0];"
        "print(out, 'detect_secrets' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO / "plugin")},
    ).stdout
    assert out.strip() == "x [REDACTED:github_token] False"


def test_ini_style_credentials_at_a_line_start_are_redacted():
    """~/.aws/credentials (``name = value`` with spaces, unquoted) was left verbatim (review finding);
    code assigning a call or a reference is still left alone."""
    from lakeloop.redact import redact_text

    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    text, kinds = redact_text(f"[default]\naws_secret_access_key = {secret}\n")
    assert secret not in text and "[REDACTED:" in text
    for code in ("    token = compute()\n", "password = self.password\n"):
        assert redact_text(code)[0] == code
