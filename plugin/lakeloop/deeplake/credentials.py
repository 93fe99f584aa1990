"""Deeplake credentials, shared with other Deeplake tools.

Read from the environment (``LAKELOOP_DEEPLAKE_TOKEN`` and
``LAKELOOP_DEEPLAKE_ORG_ID``, optionally ``LAKELOOP_DEEPLAKE_WORKSPACE``,
``LAKELOOP_DEEPLAKE_API_URL``, ``LAKELOOP_DEEPLAKE_ORG_NAME``), else from
``~/.deeplake/credentials.json`` (``LAKELOOP_DEEPLAKE_CREDENTIALS`` names
another file): ``{"token", "orgId", "orgName"?, "userName"?, "workspaceId"?,
"apiUrl"?}`` (docs/deeplake-store.md). The workspace defaults to ``default`` and the
API to ``https://api.deeplake.ai``. The token is never printed: ``repr`` hides it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..records import dataclass, field

DEFAULT_API_URL = "https://api.deeplake.ai"
DEFAULT_WORKSPACE = "default"


@dataclass(frozen=True)
class Credentials:
    """What a Deeplake call needs. ``token`` is a secret (hidden from ``repr``)."""

    token: str = field(repr=False)
    org_id: str
    org_name: str = ""
    user_name: str = ""
    workspace: str = DEFAULT_WORKSPACE
    api_url: str = DEFAULT_API_URL
    source: str = ""


def credentials_file() -> Path:
    """``LAKELOOP_DEEPLAKE_CREDENTIALS``, else ``~/.deeplake/credentials.json``."""
    override = os.environ.get("LAKELOOP_DEEPLAKE_CREDENTIALS", "").strip()
    return Path(override).expanduser() if override else Path.home() / ".deeplake" / "credentials.json"


def load() -> Credentials | None:
    """Credentials from the environment, else the credentials file; None when neither
    has a token and an org id (a malformed file counts as none)."""
    env = os.environ
    token = env.get("LAKELOOP_DEEPLAKE_TOKEN", "").strip()
    org = env.get("LAKELOOP_DEEPLAKE_ORG_ID", "").strip()
    if token and org:
        return Credentials(
            token=token,
            org_id=org,
            org_name=env.get("LAKELOOP_DEEPLAKE_ORG_NAME", "").strip(),
            workspace=env.get("LAKELOOP_DEEPLAKE_WORKSPACE", "").strip() or DEFAULT_WORKSPACE,
            api_url=(env.get("LAKELOOP_DEEPLAKE_API_URL", "").strip() or DEFAULT_API_URL).rstrip("/"),
            source="environment",
        )
    path = credentials_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    token, org = str(data.get("token") or "").strip(), str(data.get("orgId") or "").strip()
    if not token or not org:
        return None
    return Credentials(
        token=token,
        org_id=org,
        org_name=str(data.get("orgName") or ""),
        user_name=str(data.get("userName") or ""),
        workspace=(
            env.get("LAKELOOP_DEEPLAKE_WORKSPACE", "").strip()
            or str(data.get("workspaceId") or "")
            or DEFAULT_WORKSPACE
        ),
        api_url=(
            env.get("LAKELOOP_DEEPLAKE_API_URL", "").strip() or str(data.get("apiUrl") or "") or DEFAULT_API_URL
        ).rstrip("/"),
        source=str(path),
    )


def save(
    token: str,
    org_id: str,
    *,
    org_name: str = "",
    user_name: str = "",
    workspace: str = "",
    api_url: str = "",
    path: Path | None = None,
) -> Path:
    """Write the credentials file (mode 0600, atomically), keeping fields of an existing
    file that are not given. Returns its path. Raises OSError."""
    from ..fsutil import atomic_write

    path = path or credentials_file()
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
        current = current if isinstance(current, dict) else {}
    except (OSError, ValueError):
        current = {}
    current.update({"token": token, "orgId": org_id})
    for key, value in (("orgName", org_name), ("userName", user_name), ("workspaceId", workspace), ("apiUrl", api_url)):
        if value:
            current[key] = value
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write(path, json.dumps(current, indent=2) + "\n", mode=0o600)
    return path
