"""A tiny client of ``codex app-server`` (JSON-RPC 2.0, one JSON object per line on stdio): just
what recording hook trust needs.

* ``initialize`` (sent by ``AppServer.__enter__``), then
* ``hooks_list(cwd)``: ``hooks/list {"cwds": [cwd]}`` -> the hooks Codex sees, each a dict with
  ``key`` (``<hooks.json path>:<event_snake>:<group index>:<handler index>``), ``command``,
  ``sourcePath``, ``currentHash`` (``sha256:<hex>``) and ``trustStatus`` (``untrusted``,
  ``trusted``, ``modified``); ``hooks_report(cwd)`` gives Codex's warnings too (a hooks file it
  could not parse);
* ``batch_write(edits)``: ``config/batchWrite {"edits": [{"keyPath", "value", "mergeStrategy"}]}``,
  which Codex applies to ``$CODEX_HOME/config.toml`` with its own TOML writer (comments and other
  tables kept). ``trust_edit(key, hash)`` and ``forget_edit(key)`` build the two edits lakeloop uses.

The server is started as an argv list (no shell) with this process's environment (so
``CODEX_HOME`` is the caller's), stderr discarded, and every call bounded by one overall deadline
(``TIMEOUT_S`` from the start); leaving the ``with`` block closes stdin and kills the server if it
has not exited within a second. Nothing sent or received is logged.
"""

from __future__ import annotations

from ..errors import LakeloopError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: overall bound of one app-server session (start, initialize, every call), seconds
TIMEOUT_S = 20.0
#: longest line accepted from the server, bytes (a hooks/list answer is a few kB per hook)
MAX_LINE = 4 * 1024 * 1024


class CodexRpcError(LakeloopError):
    """``codex app-server`` could not be started, did not answer in time, closed its output, or
    answered a call with an error. The message says which call and why (never the payload)."""


def trust_edit(key: str, current_hash: str) -> dict[str, Any]:
    """The batchWrite edit recording hook ``key`` as trusted with ``current_hash``."""
    return {"keyPath": f'hooks.state."{_quoted(key)}".trusted_hash', "value": current_hash, "mergeStrategy": "upsert"}


def forget_edit(key: str) -> dict[str, Any]:
    """The batchWrite edit removing hook ``key``'s whole ``hooks.state`` table."""
    return {"keyPath": f'hooks.state."{_quoted(key)}"', "value": None, "mergeStrategy": "replace"}


def _quoted(key: str) -> str:
    """``key`` inside a TOML basic-string key path segment (``\\`` and ``"`` escaped)."""
    return key.replace("\\", "\\\\").replace('"', '\\"')


class AppServer:
    """``with AppServer(binary) as server: server.hooks_list(cwd)``. Raises CodexRpcError from
    ``__enter__`` and from every call."""

    def __init__(self, binary: str, timeout_s: float = TIMEOUT_S, env: dict[str, str] | None = None) -> None:
        self.binary = binary
        self.timeout_s = timeout_s
        self.env = env
        self._proc: Any = None
        self._deadline = 0.0
        self._next_id = 0
        self._buffer = b""

    def __enter__(self) -> AppServer:
        import subprocess
        import time

        self._deadline = time.monotonic() + self.timeout_s
        try:
            self._proc = subprocess.Popen(
                [self.binary, "app-server"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
            )
        except OSError as exc:
            raise CodexRpcError(f"codex app-server could not start: {type(exc).__name__}") from None
        try:
            self.call("initialize", {"clientInfo": {"name": "lakeloop", "version": "1"}})
            self._send({"jsonrpc": "2.0", "method": "initialized"})
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close stdin and end the server (killed if it has not exited within a second)."""
        import subprocess

        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            import os
            import signal

            try:  # its own session: the npm launcher's node and the native server it started
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                proc.kill()
            proc.wait(timeout=5.0)
        proc.stdout.close()

    def hooks_list(self, cwd: str) -> list[dict[str, Any]]:
        """The hooks Codex sees for ``cwd`` (see the module docstring); entries that are not
        objects are left out."""
        return self.hooks_report(cwd)[0]

    def hooks_report(self, cwd: str) -> tuple[list[dict[str, Any]], list[str]]:
        """``(hooks, warnings)`` of ``hooks/list`` for ``cwd``: the hooks as ``hooks_list`` gives
        them, and Codex's warnings, each a string (a hooks file it could not read is one:
        ``failed to parse hooks config <path>: <why>``; Codex then loads none of that file's
        hooks)."""
        result = self.call("hooks/list", {"cwds": [cwd]})
        hooks: list[dict[str, Any]] = []
        warnings: list[str] = []
        for entry in result.get("data", []) if isinstance(result, dict) else []:
            if isinstance(entry, dict):
                hooks.extend(h for h in entry.get("hooks", []) if isinstance(h, dict))
                said = entry.get("warnings")
                warnings.extend(w for w in (said if isinstance(said, list) else []) if isinstance(w, str))
        return hooks, warnings

    def batch_write(self, edits: list[dict[str, Any]]) -> dict[str, Any]:
        """Apply ``edits`` to ``config.toml`` in one batch; returns Codex's result
        (``{"status": "ok", "filePath", ...}``)."""
        result = self.call("config/batchWrite", {"edits": edits})
        if not isinstance(result, dict) or result.get("status") not in (None, "ok"):
            raise CodexRpcError("config/batchWrite did not answer ok")
        return result

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """Send request ``method`` and return its ``result``; notifications in between are
        skipped. Raises CodexRpcError on an error answer, a closed output or the deadline."""
        self._next_id += 1
        ident = self._next_id
        self._send({"jsonrpc": "2.0", "id": ident, "method": method, "params": params})
        while True:
            message = self._receive(method)
            if message.get("id") != ident or "method" in message:
                continue
            if "error" in message:
                error = message["error"]
                said = error.get("message", "") if isinstance(error, dict) else ""
                raise CodexRpcError(f"codex app-server refused {method}: {str(said)[:200]}")
            return message.get("result")

    def _send(self, message: dict[str, Any]) -> None:
        import json

        try:
            self._proc.stdin.write(json.dumps(message).encode() + b"\n")
            self._proc.stdin.flush()
        except (OSError, ValueError):
            raise CodexRpcError("codex app-server closed its input") from None

    def _receive(self, method: str) -> dict[str, Any]:
        import json
        import os
        import selectors
        import time

        out = self._proc.stdout
        while b"\n" not in self._buffer:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise CodexRpcError(f"codex app-server did not answer {method} within {self.timeout_s:.0f} s")
            with selectors.DefaultSelector() as selector:
                selector.register(out, selectors.EVENT_READ)
                if not selector.select(left):
                    continue
            chunk = os.read(out.fileno(), 65536)
            if not chunk:
                raise CodexRpcError(f"codex app-server exited before answering {method}")
            self._buffer += chunk
            if len(self._buffer) > MAX_LINE:
                raise CodexRpcError(f"codex app-server's answer to {method} is too long")
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message = json.loads(line)
        except ValueError:
            return {}
        return message if isinstance(message, dict) else {}
