"""``<data dir>/agents.json``: the agents other than Claude Code that ``lakeloop install`` put hooks into.

Shape: ``{"<agent name>": {"config": "<config file>", "skills_dir": "<dir>", "launcher":
"<absolute hooks/run>", "created_members": [...], "installed_at": "<UTC ISO>"}}``. Install writes an
entry, uninstall removes it; the pull (every registered agent's skills directory gets the team's
skills) and ``lakeloop agents`` read it. Claude Code is not recorded here (its plugin registry is
Claude Code's own). Writes are atomic and serialised by ``agents.json.lock``; a missing or
malformed file reads as ``{}``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from typing import Any

#: seconds to wait for another install/uninstall holding the registry lock
LOCK_WAIT_S = 10.0


def installed() -> dict[str, dict[str, Any]]:
    """``{agent name: record}`` of every registered agent (see the module docstring); ``{}`` when
    the file is missing or malformed. Entries that are not objects are left out."""
    from ..fsutil import read_json
    from ..paths import agents_registry_file

    data = read_json(agents_registry_file())
    if not isinstance(data, dict):
        return {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def record(name: str, info: dict[str, Any]) -> None:
    """Register agent ``name`` with ``info`` (replacing an earlier record). Raises
    ``lakeloop.locks.LockTimeout`` when the lock stays held ``LOCK_WAIT_S`` seconds, OSError when
    the file cannot be written."""
    _update(name, info)


def forget(name: str) -> None:
    """Remove agent ``name``'s record (no-op when absent). Raises as ``record``."""
    _update(name, None)


def _update(name: str, info: dict[str, Any] | None) -> None:
    from ..fsutil import atomic_write_json
    from ..locks import hold
    from ..paths import agents_registry_file

    path = agents_registry_file()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with hold(str(path) + ".lock", timeout_s=LOCK_WAIT_S):
        data = installed()
        if info is None:
            if name not in data:
                return
            data.pop(name)
        else:
            data[name] = info
        atomic_write_json(path, data)
