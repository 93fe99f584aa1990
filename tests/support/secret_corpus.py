"""A corpus of synthetic secrets in every field Claude Code's hooks capture, and the check that none
of it survives in stored text (used by the redaction tests and the end-to-end attack tests).

* ``SECRETS``: ``{name: secret}``, AWS, GitHub, Slack, Stripe, JWT, Anthropic, URL and ``.env``
  passwords, JSON client secrets, bearer tokens and PEM private keys (``RSA_KEY``, ``SSH_KEY``),
  generated from a fixed seed (no real credential is here); ``CORPUS``: one text holding them all.
* ``BENIGN``/``BENIGN_TEXT``: things that look random but are not secrets (hashes, UUIDs, ...).
* ``events(extra="")``: ``[(event, payload)]``, the corpus (plus ``extra``) in a prompt, a Bash
  call's input and output, a Read of a JSON file and a Stop answer.
* ``fragments(name, secret)``, ``haystacks(texts)``, ``assert_no_secret(texts, secrets=SECRETS)``:
  the pieces of a secret that must not survive, where to look (every JSON string at any depth of the
  stored message texts), and the assertion.
"""

from __future__ import annotations

import json
import random
import string

from tests.support.capture import decoded_strings
from tests.support.payloads import first_payload

_rng = random.Random(20260707)
ALNUM = string.ascii_letters + string.digits


def _s(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def _b64(n: int) -> str:
    return _s(n, ALNUM + "+/")


def _pem(label: str) -> tuple[str, list[str]]:
    lines = [_b64(64) for _ in range(5)] + [_b64(20) + "=="]
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----", lines


RSA_KEY, RSA_LINES = _pem("RSA PRIVATE KEY")
SSH_KEY, SSH_LINES = _pem("OPENSSH PRIVATE KEY")

#: name -> the secret value (what must not survive)
SECRETS = {
    "aws_access_key": "AKIA" + _s(16, string.ascii_uppercase + string.digits),
    "aws_secret_key": _b64(40),
    "github_token": "ghp_" + _s(36),
    "github_fine_grained": "github_pat_" + _s(22) + "_" + _s(59),
    "slack_bot_token": f"xoxb-{_s(12, string.digits)}-{_s(13, string.digits)}-{_s(24)}",
    "slack_webhook": f"https://hooks.slack.com/services/T{_s(10)}/B{_s(10)}/{_s(24)}",
    "stripe_key": "sk_live_" + _s(99),
    "jwt": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI" + _s(40) + "." + _s(43, ALNUM + "-_"),
    "anthropic_key": "sk-ant-api03-" + _s(93, ALNUM + "-_"),
    "url_password": "Zx9-" + _s(14),
    "env_password": "Hs8" + _s(13),
    "env_export_key": "k3y-" + _s(18),
    "env_single_quoted_token": "t0k-" + _s(16),
    "json_client_secret": "cs-" + _s(22),
    "bearer": _s(40, ALNUM + "._-"),
    "rsa_key": RSA_KEY,
    "ssh_key": SSH_KEY,
}

CORPUS = f"""Here is what I found on the box, my key is {SECRETS["aws_access_key"]} and
aws_secret_access_key = "{SECRETS["aws_secret_key"]}"
GitHub: {SECRETS["github_token"]} (classic) and {SECRETS["github_fine_grained"]}
slack {SECRETS["slack_bot_token"]} webhook {SECRETS["slack_webhook"]}
stripe={SECRETS["stripe_key"]}
session cookie {SECRETS["jwt"]}
ANTHROPIC: {SECRETS["anthropic_key"]}
db: postgres://deploy:{SECRETS["url_password"]}@db.internal:5432/app
DATABASE_PASSWORD={SECRETS["env_password"]}
export OPENAI_API_KEY="{SECRETS["env_export_key"]}"
API_TOKEN='{SECRETS["env_single_quoted_token"]}'
{{"client_secret": "{SECRETS["json_client_secret"]}", "max_tokens": 100}}
curl -H "Authorization: Bearer {SECRETS["bearer"]}" https://api.example.com
{RSA_KEY}
{SSH_KEY}
"""

#: Things that look random but are not secrets: stored as they are.
BENIGN = {
    "git_hash": "3f786850e387550fdab836ed7e6dc881de23001b",
    "short_hash": "3f78685",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
    "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "base64_id": "dGhpcyBpcyBub3QgYSBzZWNyZXQsIGp1c3QgZGF0YQ==",
    "hex_const": "0xDEADBEEFCAFEBABE",
    "identifier": "getTokenRefreshIntervalMs",
    "code": "token = get_token(); password_length = 12; max_tokens = 4096",
}
BENIGN_TEXT = "\n".join(f"{k}: {v}" for k, v in BENIGN.items())


def fragments(name: str, secret: str) -> list[str]:
    """The secret and distinctive pieces of it (a partial redaction must not leave them)."""
    if name == "rsa_key":
        return RSA_LINES
    if name == "ssh_key":
        return SSH_LINES
    mid = len(secret) // 2
    return [secret, secret[-10:], secret[mid - 5 : mid + 5]]


def haystacks(message_texts: list[str]) -> list[str]:
    """The stored message JSON texts plus every string decoded from them."""
    return decoded_strings(message_texts)


def assert_no_secret(texts: list[str], secrets: dict[str, str] = SECRETS) -> None:
    hay = haystacks(texts)
    leaks = [
        (name, frag)
        for name, secret in secrets.items()
        for frag in fragments(name, secret)
        if any(frag in h for h in hay)
    ]
    assert not leaks, f"secrets survived: {[n for n, _ in leaks]}"


def events(extra: str = "") -> list[tuple[str, dict]]:
    """The corpus in every captured field: prompt, Bash tool_input and tool_response, a Read of a
    JSON file (JSON inside a JSON string), Stop's last_assistant_message."""
    text = CORPUS + extra + "\n" + BENIGN_TEXT
    prompt = first_payload("UserPromptSubmit")
    prompt["prompt"] = text
    bash = first_payload("PostToolUse", "Bash")
    bash["tool_input"] = {"command": f"cat <<'EOF' > notes.txt\n{text}\nEOF", "description": "save notes"}
    bash["tool_response"] = {"stdout": text, "stderr": "", "interrupted": False}
    read = first_payload("PostToolUse", "Read")
    config = {
        "aws": {"access_key_id": SECRETS["aws_access_key"], "secret_access_key": SECRETS["aws_secret_key"]},
        "github_token": SECRETS["github_token"],
        "api_key": SECRETS["anthropic_key"],
        "client_secret": SECRETS["json_client_secret"],
        "password": SECRETS["env_password"],
        "nested": json.dumps({"token": SECRETS["env_single_quoted_token"]}),
        "notes": text,
    }
    read["tool_response"] = {
        "type": "text",
        "file": {"filePath": "/home/dev/project/config.json", "content": json.dumps(config, indent=2)},
    }
    stop = first_payload("Stop")
    stop["last_assistant_message"] = text
    return [("UserPromptSubmit", prompt), ("PostToolUse", bash), ("PostToolUse", read), ("Stop", stop)]
