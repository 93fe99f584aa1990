"""Where the pull writes (``agents.targets.skill_targets``) and the copy Codex and Gemini get
(``named_skill_text``: the front matter's ``name`` is the ref), checked as text here and, on the
pinned CLIs, by the skills each agent really lists after a pull."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
from pathlib import Path

import pytest

from lakeloop import agents, paths
from lakeloop.agents import registry
from lakeloop.agents.targets import named_skill_text, skill_targets

LOG = logging.getLogger("lakeloop-tests")
LONG_REF = "x" * 70 + "--carol"


def _top_level(text: str, key: str) -> list[str]:
    """The front matter's unindented ``key:`` lines."""
    block = text.split("---\n", 2)[1]
    return [line for line in block.splitlines() if line.startswith(f"{key}:")]


def test_claude_is_always_a_target_and_others_once_registered(tmp_path):
    """Claude Code first (skills root, pulled-skills.json); then registered agents in NAMES order
    with the skills dir their install recorded; unknown registry entries are skipped."""
    [(claude, root, manifest)] = skill_targets()
    assert (claude.name, root, manifest) == ("claude", paths.skills_root(), paths.manifest_file())
    registry.record("gemini", {"skills_dir": str(tmp_path / "g")})
    registry.record("codex", {})
    registry.record("a-fourth-agent", {"skills_dir": str(tmp_path / "x")})
    targets = [(a.name, r, m) for a, r, m in skill_targets()]
    assert targets[1:] == [
        ("codex", agents.get("codex").skills_dir(), paths.manifest_file("codex")),
        ("gemini", tmp_path / "g", paths.manifest_file("gemini")),
    ]


@pytest.mark.parametrize(
    "body",
    [
        "# DB migrate\n\nRun alembic.\n",
        "---\nname: db-migrate\ndescription: Run migrations.\n---\n# steps\n",
        "---\ndescription: x\nname: >\n  old\n  name\nmetadata:\n  name: nested\n---\nbody\n",
        "---\nname: db-migrate\n---\n\n# Title line\nbody\n",
        "",
    ],
)
def test_the_copy_names_the_ref_and_keeps_the_body(body):
    """Every shape of body: the front matter has one top-level name, the ref (an old multi-line
    name goes with its continuation lines), and one description; the text after the front matter
    is unchanged; Claude Code's copy is the body itself."""
    ref = "db-migrate--alice"
    assert agents.get("claude").skill_text(ref, body) == body
    for name in ("codex", "gemini"):
        text = agents.get(name).skill_text(ref, body)
        assert text.startswith("---\nname: db-migrate--alice\n")
        assert _top_level(text, "name") == [f"name: {ref}"] and len(_top_level(text, "description")) == 1
        assert "  old" not in text
        rest = text.split("\n---\n", 1)[1]
        assert body.split("\n---\n", 1)[-1].strip() in rest


#: Bodies that hold another ``name`` key besides the top-level one: nested, quoted, spaced, in a
#: block, with YAML that does not parse (Gemini then reads the front matter line by line)
OTHER_NAMES = {
    "nested--ann": "---\ndescription: d\nmetadata:\n  name: other-team-skill\n  keep: 1\nbroken: [unclosed\n---\nb\n",
    "quoted--bo": '---\n"name": other-team-skill\ndescription: d\n---\nb\n',
    "spaced--cy": "---\ndescription: d\n\t'name' : other-team-skill\n---\nb\n",
    "block--di": "---\nname: |\n  other-team-skill\n\n  more\ndescription: d\nx: [\n---\nb\n",
}


@pytest.mark.parametrize(("ref", "body"), OTHER_NAMES.items())
def test_no_other_name_key_survives_anywhere_in_the_front_matter(ref, body):
    """Every line holding a ``name`` key, at any depth, quoted or not, goes with its continuation
    lines: the only line a line-by-line reader (``^\\s*name:``) can take a name from is ours."""
    text = named_skill_text(ref, body)
    front = text.split("---\n", 2)[1]
    assert "other-team-skill" not in front
    assert [line for line in front.splitlines() if re.match(r"""\s*["']?name["']?\s*:""", line)] == [f"name: {ref}"]
    assert "keep: 1" in front or ref != "nested--ann"


def test_codex_names_are_cut_to_the_64_characters_it_accepts():
    """Codex skips a skill whose name is longer than 64 characters; Gemini takes the whole ref."""
    assert agents.get("codex").skill_text(LONG_REF, "# x\n").startswith(f"---\nname: {LONG_REF[:64]}\n")
    assert agents.get("gemini").skill_text(LONG_REF, "# x\n").startswith(f"---\nname: {LONG_REF}\n")


def test_a_crlf_front_matter_is_renamed_in_place():
    text = named_skill_text("a--b", "---\r\ndescription: x\r\nname: y\r\n---\r\nbody\r\n")
    assert text == "---\r\nname: a--b\ndescription: x\r\n---\r\nbody\r\n"


# -- the pinned CLIs list the pulled copies by their refs --------------------------------------------


def _pulled(name: str, root: Path) -> None:
    """Three team skills (front matter, none, a 70-character ref) pulled with agent ``name``
    registered with skills dir ``root``."""
    from lakeloop.skillopt.pull import pull
    from lakeloop.store import open_store
    from lakeloop.store.base import SkillRow

    registry.record(name, {"skills_dir": str(root)})
    bodies = {
        "db-migrate--alice": "---\nname: db-migrate\ndescription: Run the migrations.\n---\n# steps\n",
        "plain--bob": "# A plain skill without front matter\nDo X.\n",
        LONG_REF: "---\nname: long\ndescription: A long ref.\n---\nbody\n",
    }
    with open_store() as store:
        for i, (ref, body) in enumerate(bodies.items()):
            skill_name, _, author = ref.rpartition("--")
            store.insert_skill(SkillRow(id=f"s{i}", name=skill_name, author=author, body=body, version=1, scope="team"))
        assert sorted(pull(store, LOG).written) == sorted(bodies)


def test_codex_lists_each_pulled_copy_by_its_ref(codex_bin, tmp_path):
    """A ``codex exec`` turn's skills list names each pulled copy by its ref (the long one by its
    first 64 characters) with its file under $CODEX_HOME/skills."""
    from tests.support.codex_cli import node_env
    from tests.support.fake_responses import FakeResponses, Reply, codex_config, input_text

    home = tmp_path / "codex-home"
    _pulled("codex", home / "skills")
    with FakeResponses(lambda body: Reply.text("ok")) as api:
        (home / "config.toml").write_text(codex_config(api.base_url))
        env = node_env({**os.environ, "CODEX_HOME": str(home), "STANDIN_API_KEY": "x"})
        proc = subprocess.run(
            [codex_bin, "exec", "--skip-git-repo-check", "hi"], env=env, cwd=tmp_path, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        listed = input_text(api.requests[0], "developer")
    for ref, description in (("db-migrate--alice", "Run the migrations."), ("plain--bob", "A plain skill")):
        assert f"- {ref}: {description}" in listed
        assert f"{ref}/SKILL.md" in listed
    assert f"- {LONG_REF[:64]}: A long ref." in listed
    assert "failed to load skill" not in proc.stderr


def test_gemini_lists_each_pulled_copy_by_its_ref(gemini_bin, tmp_path):
    """``gemini skills list`` names each pulled copy by its ref: the name ``activate_skill`` is
    called with, which arms the window."""
    from tests.support.gemini_script import gemini_env, gemini_settings

    home = Path(os.environ["HOME"])
    _pulled("gemini", agents.get("gemini").skills_dir())
    (home / ".gemini" / "settings.json").write_text(json.dumps(gemini_settings()))
    proc = subprocess.run(
        [gemini_bin, "skills", "list"], env=gemini_env(home), cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for ref in ("db-migrate--alice", "plain--bob", LONG_REF):
        assert f"{ref} [Enabled]" in proc.stdout, proc.stdout


def test_gemini_lists_a_copy_by_its_ref_whatever_other_name_its_body_holds(gemini_bin):
    """``gemini skills list`` on copies whose bodies hold other ``name`` keys (nested under broken
    YAML, quoted, in a block): each is listed by its ref, none under another skill's name."""
    from lakeloop.skillopt.pull import pull
    from lakeloop.store import open_store
    from lakeloop.store.base import SkillRow
    from tests.support.gemini_script import gemini_env, gemini_settings

    home = Path(os.environ["HOME"])
    registry.record("gemini", {"skills_dir": str(agents.get("gemini").skills_dir())})
    with open_store() as store:
        for i, (ref, body) in enumerate(OTHER_NAMES.items()):
            skill_name, _, author = ref.rpartition("--")
            store.insert_skill(SkillRow(id=f"o{i}", name=skill_name, author=author, body=body, version=1, scope="team"))
        assert sorted(pull(store, LOG).written) == sorted(OTHER_NAMES)
    (home / ".gemini" / "settings.json").write_text(json.dumps(gemini_settings()))
    proc = subprocess.run(
        [gemini_bin, "skills", "list"], env=gemini_env(home), cwd=home, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    for ref in OTHER_NAMES:
        assert f"{ref} [Enabled]" in proc.stdout, proc.stdout
    assert "other-team-skill" not in proc.stdout
