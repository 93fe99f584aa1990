"""Where files live: overrides, platformdirs defaults, and the cache of platformdirs' answers."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.support.repo import PLUGIN_SRC

CODE = "import sys; from lakeloop import paths; print(paths.data_dir(), paths.log_dir(), 'platformdirs' in sys.modules)"


def _run(env: dict) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", CODE],
        env={**env, "PYTHONPATH": str(PLUGIN_SRC)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out.split()


def _clean_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAKELOOP_", "XDG_", "CLAUDE_"))}
    env["HOME"] = str(tmp_path / "home")
    return env


def test_overrides_win(tmp_path):
    """LAKELOOP_DATA_DIR and LAKELOOP_LOG_DIR decide, and platformdirs is not even imported."""
    env = {**_clean_env(tmp_path), "LAKELOOP_DATA_DIR": str(tmp_path / "d"), "LAKELOOP_LOG_DIR": str(tmp_path / "l")}
    assert _run(env) == [str(tmp_path / "d"), str(tmp_path / "l"), "False"]


def test_platformdirs_defaults(tmp_path):
    """Without overrides: platformdirs' user data and log dirs."""
    import platformdirs

    env = _clean_env(tmp_path)
    data, log, imported = _run(env)
    assert imported == "True"
    assert data.startswith(str(tmp_path / "home")) and data.endswith("lakeloop")
    assert "lakeloop" in log and log.startswith(str(tmp_path / "home"))
    assert platformdirs  # the library is what decides (no override involved)


def test_answers_cached_under_claude_plugin_data(tmp_path):
    """Inside Claude Code the answers are cached: the second hook does not import platformdirs, and a
    change of XDG_DATA_HOME is noticed."""
    env = {**_clean_env(tmp_path), "CLAUDE_PLUGIN_DATA": str(tmp_path / "pd")}
    first = _run(env)
    second = _run(env)
    assert first[:2] == second[:2] and first[2] == "True" and second[2] == "False"
    cache = (tmp_path / "pd" / "lakeloop-dirs.txt").read_text().splitlines()
    assert cache[1:] == first[:2]
    moved = _run({**env, "XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert moved[0] == str(tmp_path / "xdg" / "lakeloop") and moved[2] == "True"


def test_answers_cached_in_the_user_cache_dir_outside_claude_code(tmp_path):
    """Without CLAUDE_PLUGIN_DATA (Codex CLI's and Gemini CLI's hooks) the answers are cached in the
    user cache directory: the second process does not import platformdirs either."""
    env = _clean_env(tmp_path)
    first, second = _run(env), _run(env)
    assert first[:2] == second[:2] and first[2] == "True" and second[2] == "False"
    cache = tmp_path / "home" / ".cache" / "lakeloop" / "lakeloop-dirs.txt"
    assert cache.read_text().splitlines()[1:] == first[:2]
    assert oct(cache.parent.stat().st_mode & 0o777) == "0o700"
    moved = _run({**env, "XDG_CACHE_HOME": str(tmp_path / "c"), "XDG_DATA_HOME": str(tmp_path / "xdg")})
    assert (
        moved[0] == str(tmp_path / "xdg" / "lakeloop") and (tmp_path / "c" / "lakeloop" / "lakeloop-dirs.txt").exists()
    )
