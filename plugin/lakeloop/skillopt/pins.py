"""Pins: this machine stays on one version of a team skill (``lakeloop skills pin``).

The pins live in ``<data dir>/pins.json`` as ``{"pins": {ref: version}}`` (mode 0600,
written atomically). Every pull writes a pinned ref's version ``N`` instead of the
current one, until ``unpin``. Local to this machine: nothing is written to the store.
"""

from __future__ import annotations

from pathlib import Path

from .. import paths
from ..fsutil import atomic_write_json, read_json
from .refs import split_ref


def pins_file() -> Path:
    """``<data dir>/pins.json``."""
    return paths.data_dir() / "pins.json"


def load() -> dict[str, int]:
    """``{ref: version}`` of every valid pin (empty when the file is missing or malformed;
    entries with a malformed ref or a version that is not a positive integer are ignored)."""
    data = read_json(pins_file())
    pins = data.get("pins") if isinstance(data, dict) else None
    if not isinstance(pins, dict):
        return {}
    return {
        ref: v
        for ref, v in pins.items()
        if split_ref(ref) and isinstance(v, int) and not isinstance(v, bool) and v >= 1
    }


def pin(ref: str, version: int) -> None:
    """Pin ``ref`` at ``version`` (replaces an earlier pin of it). Raises ValueError for a
    malformed ref or version, OSError when the file cannot be written."""
    if split_ref(ref) is None:
        raise ValueError(f"not a team skill ref (<name>--<author>): {ref[:80]!r}")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"not a version number: {version!r}")
    pins = load()
    pins[ref] = version
    atomic_write_json(pins_file(), {"pins": pins})


def unpin(ref: str) -> int | None:
    """Remove the pin of ``ref``; returns the version it was pinned at, or None when it was not
    pinned. Raises OSError when the file cannot be written."""
    pins = load()
    version = pins.pop(ref, None)
    if version is not None:
        atomic_write_json(pins_file(), {"pins": pins})
    return version
