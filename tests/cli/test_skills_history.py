"""History and control of a team skill, through the CLI on the embedded store
(and ``history`` on the Deeplake stand-in):

* ``history`` lists every version: number, when, who published it (a user, or the optimizer and
  from whose session: contributors' last element, source_sessions' last) and the judge's reason
  (the description note ``[lakeloop-skillopt] <reason>``); two rows of one version (a publish race)
  are both shown, the loser (``winner_key``) marked;
* ``diff`` prints a unified diff: previous against current by default, A against current, A against B;
* ``rollback --to N`` publishes N's body as a new version, published by the user;
* ``pin REF N`` keeps this machine on N at every pull until ``unpin``; status shows pins.
"""

from __future__ import annotations

import json
import logging
import stat

import pytest

from lakeloop import paths
from lakeloop.cli.main import main
from lakeloop.hooks import session_start
from lakeloop.skillopt.refs import load_manifest
from lakeloop.store.base import SkillRow
from lakeloop.store.embedded import EmbeddedStore
from tests.support.payloads import first_payload

REF = "db-migrate--alice"
V1 = "---\nname: db-migrate\ndescription: Migrate.\n---\nRun alembic.\n"
V2 = V1 + "Back up the database first.\n"
V3 = V2.replace("Run alembic.", "Run `alembic upgrade head`.")
LOG = logging.getLogger("lakeloop-tests")


def _row(
    version: int,
    body: str,
    contributors: list[str],
    created: str,
    *,
    sessions=(),
    description="Migrate.",
    id_=None,
    scope="team",
) -> SkillRow:
    return SkillRow(
        id=id_ or f"id-{version}-{created[-4:]}",
        name="db-migrate",
        author="alice",
        body=body,
        version=version,
        scope=scope,
        contributors=contributors,
        source_sessions=list(sessions),
        description=description,
        trigger_text="Migrate.",
        created_at=created,
        updated_at=created,
    )


def seed(store) -> None:
    """v1 by alice; v2 by the optimizer from bob's session s-bob with the judge's reason; v3 by
    carol and, racing it, v3 by dave created later (the loser); a proposal that is no version."""
    store.insert_skill(_row(1, V1, ["alice"], "2026-01-01T00:00:01.000000Z"))
    store.insert_skill(
        _row(
            2,
            V2,
            ["alice", "bob", "lakeloop-skillopt"],
            "2026-01-02T00:00:00.000000Z",
            sessions=["s-bob"],
            description="Migrate.\n[lakeloop-skillopt] bob had to ask for a backup",
        )
    )
    store.insert_skill(
        _row(
            3,
            V3,
            ["alice", "bob", "lakeloop-skillopt", "carol"],
            "2026-01-03T00:00:00.000000Z",
            sessions=["s-bob"],
            id_="zz-carol",
        )
    )
    store.insert_skill(
        _row(
            3,
            V1 + "dave's\n",
            ["alice", "bob", "lakeloop-skillopt", "dave"],
            "2026-01-03T00:00:05.000000Z",
            sessions=["s-bob"],
            id_="aa-dave",
        )
    )
    store.insert_skill(
        _row(
            3,
            "proposed\n",
            ["alice", "erin", "lakeloop-skillopt"],
            "2026-01-04T00:00:00.000000Z",
            sessions=["s-bob", "s-erin"],
            scope="proposal",
            id_="proposal-1",
        )
    )


@pytest.fixture
def store():
    s = EmbeddedStore(paths.store_file())
    seed(s)
    yield s
    s.close()


def _json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


EXPECTED_HISTORY = [
    # version, published_by, by_optimizer, session, reason, current, lost_race
    (1, "alice", False, "", "", False, False),
    (2, "bob", True, "s-bob", "bob had to ask for a backup", False, False),
    (3, "carol", False, "", "", True, False),
    (3, "dave", False, "", "", False, True),
]


def _summary(versions: list[dict]) -> list[tuple]:
    return [
        (v["version"], v["published_by"], v["by_optimizer"], v["session"], v["reason"], v["current"], v["lost_race"])
        for v in versions
    ]


def test_history_lists_every_version_with_its_publisher_and_reason(store, capsys):
    """Every team version, who published it (the optimizer: from whose session) and the judge's
    reason; the race loser is shown and marked; the proposal is no version."""
    out = _json(capsys, ["skills", "history", REF, "--json"])
    assert out["ref"] == REF and out["pinned"] is None
    assert _summary(out["versions"]) == EXPECTED_HISTORY
    assert [v["created_at"] for v in out["versions"]][:2] == [
        "2026-01-01T00:00:01.000000Z",
        "2026-01-02T00:00:00.000000Z",
    ]
    assert main(["skills", "history", REF]) == 0
    text = capsys.readouterr().out
    assert "lakeloop-skillopt, from bob's session s-bob" in text and "bob had to ask for a backup" in text
    assert "v3 (current)" in text and "v3 (lost a publish race)" in text


def test_history_refuses_bad_refs(store, capsys):
    """A malformed ref or an unknown skill: exit 2 with a message, no traceback."""
    assert main(["skills", "history", "../etc"]) == 2
    assert "not a team skill ref" in capsys.readouterr().err
    assert main(["skills", "history", "nope--alice"]) == 2
    assert "no team skill 'nope--alice' in the store" in capsys.readouterr().err


def test_diff_defaults_to_previous_against_current(store, capsys):
    """No version: the version before the current one (v2) against the current one (v3, the race
    winner); A alone: A against current; A and B: A against B; an unknown version: exit 2."""
    assert main(["skills", "diff", REF]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [f"--- {REF} v2", f"+++ {REF} v3"]
    assert "-Run alembic." in out and "+Run `alembic upgrade head`." in out
    assert not [line for line in out if "dave" in line]
    assert main(["skills", "diff", REF, "2", "3"]) == 0  # version 3 is the race winner, carol
    assert capsys.readouterr().out.splitlines() == out
    assert main(["skills", "diff", REF, "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [f"--- {REF} v1", f"+++ {REF} v3"] and "+Back up the database first." in out
    assert main(["skills", "diff", REF, "2", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == [f"--- {REF} v2", f"+++ {REF} v1"]
    assert [line for line in out[2:] if line[:1] in "+-"] == ["-Back up the database first."]
    assert main(["skills", "diff", REF, "9"]) == 2
    assert "has no version 9" in capsys.readouterr().err


def test_rollback_publishes_the_old_body_as_a_new_user_version(store, capsys, monkeypatch):
    """rollback --to 1 appends v4 = v1's body, published by the user (contributors gain them; no
    optimizer note in the description; source sessions kept); history shows it as theirs."""
    monkeypatch.setenv("LAKELOOP_USER", "frank")
    out = _json(capsys, ["skills", "rollback", REF, "--to", "1", "--json"])
    assert out == {"ref": REF, "version": 4, "restored": 1, "published_by": "frank"}
    current = store.current_skill("db-migrate", "alice")
    assert (current.version, current.body) == (4, V1)
    assert current.contributors == ["alice", "bob", "lakeloop-skillopt", "carol", "frank"]
    assert current.description == "Migrate." and current.source_sessions == ["s-bob"]
    assert len(store.skill_rows("db-migrate", "alice")) == 6  # append-only: nothing replaced
    history = _json(capsys, ["skills", "history", REF, "--json"])["versions"]
    assert _summary(history)[-1] == (4, "frank", False, "", "", True, False)
    assert history[-1]["same_as"] == 1
    # rolling back to the body already current publishes nothing
    assert main(["skills", "rollback", REF, "--to", "1"]) == 0
    assert "nothing published" in capsys.readouterr().out
    assert store.current_skill("db-migrate", "alice").version == 4
    assert main(["skills", "rollback", REF, "--to", "7"]) == 2


def test_rollback_of_an_optimizer_version_drops_its_reason(store, capsys):
    """Rolling back to the optimizer's v2 is a user publication: its description loses the judge's
    note, so history shows no optimizer reason for it."""
    assert main(["skills", "rollback", REF, "--to", "2"]) == 0
    capsys.readouterr()
    current = store.current_skill("db-migrate", "alice")
    assert (current.version, current.body, current.description) == (4, V2, "Migrate.")
    assert current.contributors[-1] == "tester"
    history = _json(capsys, ["skills", "history", REF, "--json"])["versions"]
    assert _summary(history)[-1] == (4, "tester", False, "", "", True, False)


def test_pin_keeps_this_machine_on_a_version_until_unpin(store, capsys):
    """pin REF 1 writes v1 now and at every later pull (a newer version included), records it in
    pins.json (0600) and the manifest, shows in status; unpin returns to the current version."""
    session_start.handle(first_payload("SessionStart"), LOG)
    capsys.readouterr()  # SessionStart's own output (the memory path's additionalContext)
    target = paths.skills_root() / REF / "SKILL.md"
    assert target.read_text() == V3
    assert main(["skills", "pin", REF, "1"]) == 0
    assert "pinned db-migrate--alice at v1" in capsys.readouterr().out
    assert target.read_text() == V1 and load_manifest()[REF]["version"] == 1
    pins_file = paths.data_dir() / "pins.json"
    assert json.loads(pins_file.read_text()) == {"pins": {REF: 1}}
    assert stat.S_IMODE(pins_file.stat().st_mode) == 0o600

    store.insert_skill(_row(4, V3 + "v4\n", ["alice"], "2026-01-05T00:00:00.000000Z"))
    session_start.handle(first_payload("SessionStart"), LOG)
    capsys.readouterr()
    assert target.read_text() == V1 and load_manifest()[REF]["version"] == 1
    status = _json(capsys, ["status", "--json"])
    assert status["pins"] == {REF: 1} and status["pulled_skills"][REF] == 1
    assert main(["status"]) == 0
    assert "pinned:       db-migrate--alice v1" in capsys.readouterr().out
    assert _json(capsys, ["skills", "history", REF, "--json"])["pinned"] == 1

    assert main(["skills", "unpin", REF]) == 0
    assert "unpinned db-migrate--alice (was v1)" in capsys.readouterr().out
    assert target.read_text() == V3 + "v4\n" and load_manifest()[REF]["version"] == 4
    session_start.handle(first_payload("SessionStart"), LOG)
    assert target.read_text() == V3 + "v4\n"
    assert json.loads(pins_file.read_text()) == {"pins": {}}
    assert main(["skills", "unpin", REF]) == 0
    assert "was not pinned" in capsys.readouterr().out


def test_pin_refuses_a_version_the_store_does_not_hold(store, capsys):
    """pin to a missing version: exit 2, nothing pinned."""
    assert main(["skills", "pin", REF, "9"]) == 2
    assert "has no version 9" in capsys.readouterr().err
    assert not (paths.data_dir() / "pins.json").exists()


def test_history_on_the_deeplake_stand_in(deeplake, monkeypatch, capsys):
    """The same history, publishers, reasons and race marking through the Deeplake store."""
    import lakeloop.deeplake.client as client_module
    from lakeloop.store import open_store

    monkeypatch.setattr(client_module, "_shared", None)
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_TOKEN", deeplake.token)
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_ORG_ID", deeplake.org_id)
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_WORKSPACE", deeplake.workspace)
    monkeypatch.setenv("LAKELOOP_DEEPLAKE_API_URL", deeplake.base_url)
    with open_store() as dl:
        assert dl.name == "deeplake"
        seed(dl)
    out = _json(capsys, ["skills", "history", REF, "--json"])
    assert _summary(out["versions"]) == EXPECTED_HISTORY
    assert main(["skills", "diff", REF]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [f"--- {REF} v2", f"+++ {REF} v3"]


def test_a_skill_is_named_by_its_name_when_one_author_has_it(store, capsys):
    """``db-migrate`` alone names ``db-migrate--alice`` (its only author) in every command that
    takes a ref: history, diff, pin, unpin, proposals."""
    assert _json(capsys, ["skills", "history", "db-migrate", "--json"])["ref"] == REF
    assert main(["skills", "diff", "db-migrate"]) == 0
    assert capsys.readouterr().out.splitlines()[:2] == [f"--- {REF} v2", f"+++ {REF} v3"]
    assert _json(capsys, ["skills", "pin", "db-migrate", "2", "--json"])["ref"] == REF
    assert _json(capsys, ["skills", "unpin", "db-migrate", "--json"])["ref"] == REF
    assert [p["ref"] for p in _json(capsys, ["skills", "proposals", "db-migrate", "--json"])["proposals"]] == [REF]


def test_an_ambiguous_name_or_unknown_ref_says_did_you_mean(store, capsys):
    """A name two authors have, a misspelt name or ref: exit 2, one line with "did you mean" and
    the closest refs."""
    when = "2026-01-05T00:00:00.000000Z"
    store.insert_skill(
        SkillRow(id="bob-1", name="db-migrate", author="bob", body=V1, version=1, created_at=when, updated_at=when)
    )
    assert main(["skills", "history", "db-migrate"]) == 2
    err = capsys.readouterr().err
    assert err == "lakeloop: 'db-migrate' is a skill of 2 authors: did you mean db-migrate--alice or db-migrate--bob?\n"
    for typo in ("db-migrat", "db-migrate--alise"):
        assert main(["skills", "history", typo]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "did you mean db-migrate--alice" in err and "db-migrate--bob" in err, err
    assert main(["skills", "rollback", "zzz-unrelated", "--to", "1"]) == 2
    assert capsys.readouterr().err == "lakeloop: no team skill 'zzz-unrelated' in the store; see: lakeloop skills\n"
