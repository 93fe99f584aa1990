"""The pull manifest as the SessionStart pull leaves it, planted by a test.

* ``write_manifest(*refs, version=1, agent="claude")``: record each org skill ref
  ``<name>--<author>`` as pulled (at ``version``, a dummy path and digest) in this test's
  ``lakeloop.paths.manifest_file(agent)`` (Claude Code's by default), replacing what was there:
  only recorded refs count as org skills.
"""

from __future__ import annotations


def write_manifest(*refs: str, version: int = 1, agent: str = "claude") -> None:
    """Write ``agent``'s pull manifest recording ``refs`` (``<name>--<author>``) at ``version``."""
    from lakeloop import fsutil, paths

    skills = {}
    for ref in refs:
        name, _, author = ref.rpartition("--")
        skills[ref] = {
            "name": name,
            "author": author,
            "version": version,
            "path": f"/x/{ref}/SKILL.md",
            "sha256": "0" * 64,
        }
    fsutil.atomic_write_json(paths.manifest_file(agent), {"skills": skills})
