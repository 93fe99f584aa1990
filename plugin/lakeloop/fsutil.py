"""Small file-system helpers shared by hooks and the worker."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

TYPE_CHECKING = False  # typing is not imported at run time (hook start-up time)
if TYPE_CHECKING:
    from typing import Any


def atomic_write(path: Path, data: bytes | str, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` atomically: a temp file in the same directory,
    fsync, then ``os.replace``. Readers see the old or the new file, never a part.

    Raises OSError when the directory cannot be created or written.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_json(path: Path, obj: Any, mode: int = 0o600) -> None:
    """``atomic_write`` of ``obj`` as pretty JSON."""
    atomic_write(path, json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", mode)


#: Largest file ``read_json`` reads, in bytes: every file it is used for (state, pins, markers,
#: settings) is a few KiB; a bigger one is not ours to parse.
MAX_JSON_BYTES = 8 * 1024 * 1024


def read_json(path: Path) -> Any:
    """Parsed JSON of ``path``, or None when missing, unreadable, malformed, not a regular file (a
    FIFO or device is opened non-blocking and never read, so it cannot hang the caller) or over
    ``MAX_JSON_BYTES`` bytes."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_JSON_BYTES:
            return None
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(MAX_JSON_BYTES + 1)
        if len(data) > MAX_JSON_BYTES:
            return None
        return json.loads(data.decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    finally:
        os.close(fd)


def safe_key(value: str) -> str:
    """A file-name-safe key for an untrusted string (session id, skill ref):
    the SHA-256 hex digest's first 32 characters. Never a path component of the input."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
