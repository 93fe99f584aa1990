"""An installed plugin copy follows the tool it belongs to: upgrading lakeloop is the only step.

``lakeloop install claude`` stamps its copy with a digest of the plugin files it was written
from. At SessionStart (in the detached child, so the hook does not wait) a copy whose stamp no
longer matches what the installed lakeloop ships is rewritten; a development checkout, or any
directory that is not the installed copy, is never touched.
"""

from __future__ import annotations

import sys

from lakeloop.cli.install import STAMP, plugin_copy_dir, refresh_if_stale, sources_digest, write_copy
from tests.support.hooks import run_hook
from tests.support.payloads import first_payload
from tests.support.waiting import wait_until


def _stale_copy():
    dest = plugin_copy_dir()
    write_copy(dest, sys.executable)
    stamp = dest / "hooks" / STAMP
    assert stamp.read_text().strip() == sources_digest()
    stamp.write_text("0" * 64 + "\n")  # written by an older release
    (dest / "hooks" / "hooks.json").write_text("{}")
    return dest, stamp


def test_a_stale_copy_is_rewritten_and_a_current_one_is_left_alone():
    dest, stamp = _stale_copy()
    assert refresh_if_stale(str(dest), sys.executable) is True
    assert stamp.read_text().strip() == sources_digest()
    assert (dest / "hooks" / "hooks.json").read_text() != "{}"
    assert sys.executable in (dest / "hooks" / "run").read_text()  # still pinned
    assert refresh_if_stale(str(dest), sys.executable) is False


def test_only_the_installed_copy_with_a_stamp_is_refreshed(tmp_path):
    dest, stamp = _stale_copy()
    other = tmp_path / "checkout"
    other.mkdir()
    assert refresh_if_stale(str(other), sys.executable) is False  # not the copy
    stamp.unlink()
    assert refresh_if_stale(str(dest), sys.executable) is False  # no stamp: not ours to rewrite
    assert (dest / "hooks" / "hooks.json").read_text() == "{}"


def test_session_start_refreshes_a_stale_copy_in_the_background():
    """Through the real hook: SessionStart from the installed copy rewrites its stale files."""
    dest, stamp = _stale_copy()
    run_hook("SessionStart", first_payload("SessionStart"), CLAUDE_PLUGIN_ROOT=str(dest))
    wait_until(lambda: stamp.read_text().strip() == sources_digest(), 30, "the copy to be refreshed")
    assert (dest / "hooks" / "hooks.json").read_text() != "{}"
