"""What a test run leaves in its temporary directories, and the bound on it.

pytest deletes a passing test's ``tmp_path`` when the test ends (``tmp_path_retention_policy =
"failed"`` in pyproject.toml); what is still under the run's base temporary directory at the end
comes from fixtures that made directories of their own (``tmp_path_factory.mktemp``) or from
files a test could not delete. ``tests/conftest.py`` checks it when a run passed.

* ``LIMIT_BYTES``: the most a passing run may leave behind, 50 MiB.
* ``tree_bytes(root)``: bytes allocated on disk to the files under ``root`` (what ``du -s`` counts;
  a hard-linked file once, symlinks not followed); 0 when ``root`` is missing.
* ``over_limit(root, limit=LIMIT_BYTES)``: None when ``tree_bytes(root) <= limit``, else a message
  naming the total and the largest entries under ``root``.
"""

from __future__ import annotations

import os

LIMIT_BYTES = 50 * 1024 * 1024


def tree_bytes(root: str | os.PathLike) -> int:
    """Bytes on disk of everything under ``root`` (directories included), like ``du -s``."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for top, dirs, files in os.walk(root, onerror=lambda _e: None):
        for name in (*dirs, *files):
            try:
                st = os.lstat(os.path.join(top, name))
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += st.st_blocks * 512
    return total


def over_limit(root: str | os.PathLike, limit: int = LIMIT_BYTES) -> str | None:
    """None when what is under ``root`` takes at most ``limit`` bytes, else what to look at."""
    total = tree_bytes(root)
    if total <= limit:
        return None
    sizes = []
    with os.scandir(root) as entries:
        for entry in entries:
            sizes.append((tree_bytes(entry.path) if entry.is_dir(follow_symlinks=False) else 0, entry.path))
    biggest = ", ".join(f"{path} {size / 2**20:.1f} MiB" for size, path in sorted(sizes, reverse=True)[:5])
    return (
        f"this run left {total / 2**20:.1f} MiB in {root} (limit {limit / 2**20:.0f} MiB); largest: {biggest}. "
        "A test that makes a directory of its own (tmp_path_factory.mktemp, tempfile) must remove it"
    )
