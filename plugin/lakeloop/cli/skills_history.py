"""History and control of one team skill: ``lakeloop skills history|diff|rollback|pin|unpin``.

* ``history REF [--json]``: every version, oldest first: number, when, who published it
  (a user, or the optimizer and from whose session) and the judge's reason for optimizer
  versions (``skillopt.versions``). A version number held by two rows (a publish race)
  shows both; the loser (``store.base.winner_key``) is marked.
* ``diff REF [A [B]]``: unified diff (difflib) of version A against B; default the version
  before the current one against the current one; A alone: A against the current one.
* ``rollback REF --to N``: publishes version N's body as a new version (append-only), a user
  publication: contributors gain the user, the description is version N's without an
  optimizer note, source sessions stay.
* ``pin REF N`` / ``unpin REF``: this machine stays on version N at every pull
  (``skillopt.pins``); both pull at once so SKILL.md follows.

REF is ``<name>--<author>``, or the skill's ``name`` alone when exactly one author has it
(``resolve``, applied by ``cli.skills`` to every skills command taking a ref); an unknown or
ambiguous ref is one line with "did you mean" and the closest refs.

Exit codes: 0 done, 1 the store failed, 2 bad input (malformed ref, unknown skill or version:
``BadSkillRef``); ``cli.error_handler`` prints the errors.
"""

from __future__ import annotations

import difflib

from ..errors import LakeloopError, RequestRefused, StoreError
from ._output import emit_json, table

TYPE_CHECKING = False  # typing is not imported at run time
if TYPE_CHECKING:
    from ..store.base import SkillRow, Store


class BadSkillRef(RequestRefused):
    """A skills command named a malformed skill ref, a skill the store does not hold, or a
    version the skill does not have. The message says which and where to look."""


class PinsNotWritten(LakeloopError):
    """``skills pin``/``unpin`` could not write this machine's pins file (the message names the
    file and the system's reason). A command ends with exit 1."""


def closest(ref: str, known: list[str]) -> str:
    """The ref of ``known`` (team skill refs ``<name>--<author>``) that ``ref`` names: itself, or
    a bare ``name`` exactly one author has. Raises BadSkillRef (one line) when ``ref`` names none
    or several, with "did you mean" and the closest refs (``difflib.get_close_matches`` on the
    refs and their names)."""
    from ..skillopt.refs import split_ref

    if ref in known:
        return ref
    names = {r: parts[0] for r in known if (parts := split_ref(r))}
    # a bare name only: an argument holding "--" names a ref, never some other author's skill
    # whose name happens to contain it
    same = sorted(r for r, name in names.items() if name == ref) if "--" not in ref else []
    if len(same) == 1:
        return same[0]
    shown = ref[:80]
    if same:
        raise BadSkillRef(f"{shown!r} is a skill of {len(same)} authors: did you mean {' or '.join(same)}?")
    candidates = sorted(set(names.values()) | set(known))
    matches = difflib.get_close_matches(ref, candidates, n=3)
    close = list(dict.fromkeys(r for c in matches for r in sorted(known) if r == c or names.get(r) == c))
    hint = f"did you mean {' or '.join(close)}?" if close else "see: lakeloop skills"
    raise BadSkillRef(f"no team skill {shown!r} in the store; {hint}")


def resolve(ref: str, pinned_ok: bool = False) -> str:
    """The team skill ref a command's REF argument names (``closest`` over the store's team
    skills). With ``pinned_ok`` (``unpin``), a ref pinned on this machine is taken as it is,
    without asking the store, and pinned refs count among the known ones. Raises BadSkillRef
    (malformed: neither a ref nor a name; unknown; ambiguous), StoreError."""
    from ..skillopt import pins
    from ..skillopt.refs import is_valid_part, split_ref

    if split_ref(ref) is None and not is_valid_part(ref):  # neither a ref nor a name: no store asked
        raise BadSkillRef(f"not a team skill ref (<name>--<author>): {ref[:80]!r}")
    pinned = list(pins.load()) if pinned_ok else []
    if ref in pinned:
        return ref
    known = _with_store(lambda store: sorted({s.ref for s in store.latest_skills(scope="team")}))
    return closest(ref, sorted(set(known) | set(pinned)))


def _rows(store: Store, ref: str) -> tuple[str, str, list[SkillRow], SkillRow]:
    """``(name, author, team rows, current row)`` of ``ref``; raises BadSkillRef for a malformed
    or unknown ref, StoreError when the store fails."""
    from ..skillopt.refs import split_ref
    from ..skillopt.versions import current_row, team_rows

    parts = split_ref(ref)
    if parts is None:
        raise BadSkillRef(f"not a team skill ref (<name>--<author>): {ref[:80]!r}")
    rows = team_rows(store, *parts)
    current = current_row(rows)
    if current is None:  # no rows
        raise BadSkillRef(f"no team skill {ref} in the store (see: lakeloop skills)")
    return parts[0], parts[1], rows, current


def _with_store(fn):
    """``fn(store)`` on the configured store; what it raises goes to ``cli.error_handler``."""
    from ..store import open_store

    with open_store() as store:
        return fn(store)


def history_items(rows) -> list[dict]:
    """One JSON-ready dict per row: ``version, id, created_at, published_by, by_optimizer,
    publisher`` (``versions.Publisher.label``), ``publisher_kind`` (``push``, ``optimizer``,
    ``rollback``), ``session, reason`` (the judge's reason, or a rollback's figures), ``current,
    lost_race, lines, same_as`` (the earliest earlier version with the same body, e.g. after a
    rollback; else None)."""
    from ..skillopt.versions import current_row, losers, publisher, reason

    lost = losers(rows)
    current = current_row(rows)
    items = []
    first_with: dict[str, int] = {}
    for row in rows:
        who = publisher(row)
        same_as = first_with.get(row.body)
        first_with.setdefault(row.body, row.version)
        items.append(
            {
                "version": row.version,
                "id": row.id,
                "created_at": row.created_at,
                "published_by": who.user,
                "by_optimizer": who.by_optimizer,
                "publisher": who.label(),
                "publisher_kind": who.kind,
                "session": who.session,
                "reason": reason(row.description) if who.kind != "push" else "",
                "current": current is not None and row.id == current.id,
                "lost_race": row.id in lost,
                "lines": len(row.body.splitlines()),
                "same_as": same_as if same_as != row.version else None,
            }
        )
    return items


def history(args) -> int:
    """``lakeloop skills history REF [--json]``."""
    from ..skillopt import pins

    def show(store) -> int:
        _name, _author, rows, _current = _rows(store, args.ref)
        items = history_items(rows)
        pinned = pins.load().get(args.ref)
        if args.json:
            emit_json({"ref": args.ref, "pinned": pinned, "versions": items})
            return 0
        cells = []
        for i in items:
            who = (
                f"lakeloop-skillopt, from {i['published_by'] or '?'}'s session {i['session']}"
                if i["by_optimizer"]
                else i["publisher"]
                if i["publisher_kind"] == "rollback"
                else i["published_by"]
            )
            mark = " (current)" if i["current"] else " (lost a publish race)" if i["lost_race"] else ""
            why = i["reason"] or (f"same body as v{i['same_as']}" if i["same_as"] else "")
            cells.append([f"v{i['version']}{mark}", i["created_at"], who, why])
        table(["VERSION", "WHEN", "PUBLISHED BY", "WHY"], cells)
        if pinned is not None:
            print(f"this machine is pinned at v{pinned} (lakeloop skills unpin {args.ref})")
        return 0

    return _with_store(show)


def diff(args) -> int:
    """``lakeloop skills diff REF [A [B]]``: prints the unified diff (nothing when equal)."""
    from ..skillopt.versions import version_row

    def show(store) -> int:
        _name, _author, rows, current = _rows(store, args.ref)
        if args.a is None:
            earlier = sorted({r.version for r in rows if r.version < current.version})
            if not earlier:
                print(f"{args.ref} has only version {current.version}")
                return 0
            a, b = earlier[-1], None
        else:
            a, b = args.a, args.b
        old = version_row(rows, a)
        new = current if b is None else version_row(rows, b)
        if old is None or new is None:
            raise BadSkillRef(
                f"{args.ref} has no version {a if old is None else b} (see: lakeloop skills history {args.ref})"
            )
        for line in difflib.unified_diff(
            old.body.splitlines(),
            new.body.splitlines(),
            f"{args.ref} v{old.version}",
            f"{args.ref} v{new.version}",
            lineterm="",
        ):
            print(line)
        return 0

    return _with_store(show)


def rollback(args) -> int:
    """``lakeloop skills rollback REF --to N [--json]``: publish version N's body as a new version."""
    from ..identity import utc_now
    from ..skillopt.versions import (
        body_sha,
        current_user,
        next_version,
        rolled_back,
        version_row,
        with_publisher,
        without_reason,
    )

    def run(store) -> int:
        name, author, rows, current = _rows(store, args.ref)
        target = version_row(rows, args.to)
        if target is None:
            raise BadSkillRef(f"{args.ref} has no version {args.to} (see: lakeloop skills history {args.ref})")
        if target.body == current.body:
            print(f"{args.ref} v{current.version} already has v{args.to}'s body; nothing published")
            return 0
        user = current_user()
        now = utc_now()
        row = next_version(
            current,
            now,
            body=target.body,
            contributors=with_publisher(current.contributors, user),
            description=without_reason(target.description),
            trigger_text=target.trigger_text,
        )
        store.insert_skill(row)
        if args.json:
            emit_json({"ref": args.ref, "version": row.version, "restored": args.to, "published_by": user})
        else:
            print(
                f"{args.ref} v{row.version} published with v{args.to}'s body (by {user}); "
                f"teammates get it at their next session start"
            )
            gone = rolled_back(rows).get(body_sha(target.body))
            if gone is not None:
                print(f"note: this body is v{gone}'s, which was rolled back automatically before")
        return 0

    return _with_store(run)


def _pull_now(store) -> list[str]:
    """Pull at once (so SKILL.md follows a pin) and return the change lines. Raises StoreError."""
    from ..locks import LockTimeout
    from ..log import setup
    from ..skillopt.announce import change_lines
    from ..skillopt.pull import pull

    try:
        return change_lines(pull(store, setup("skills")))
    except LockTimeout:
        return ["another pull is running; SKILL.md follows at the next session start"]


def pin(args) -> int:
    """``lakeloop skills pin REF N``: check version N exists, pin it, pull."""
    from ..skillopt import pins
    from ..skillopt.versions import version_row

    def run(store) -> int:
        _name, _author, rows, _current = _rows(store, args.ref)
        if version_row(rows, args.version) is None:
            raise BadSkillRef(f"{args.ref} has no version {args.version} (see: lakeloop skills history {args.ref})")
        try:
            pins.pin(args.ref, args.version)
        except OSError as exc:
            raise PinsNotWritten(f"cannot write {pins.pins_file()}: {exc.strerror}") from None
        lines = _pull_now(store)
        if args.json:
            emit_json({"ref": args.ref, "pinned": args.version, "pulled": lines})
        else:
            print(f"pinned {args.ref} at v{args.version} on this machine (until: lakeloop skills unpin {args.ref})")
            for line in lines:
                print(f"  {line}")
        return 0

    return _with_store(run)


def unpin(args) -> int:
    """``lakeloop skills unpin REF``: remove the pin and pull the current version."""
    from ..skillopt import pins
    from ..skillopt.refs import split_ref

    if split_ref(args.ref) is None:
        raise BadSkillRef(f"not a team skill ref (<name>--<author>): {args.ref[:80]!r}")
    try:
        was = pins.unpin(args.ref)
    except OSError as exc:
        raise PinsNotWritten(f"cannot write {pins.pins_file()}: {exc.strerror}") from None
    if was is None:
        if args.json:
            emit_json({"ref": args.ref, "unpinned": None, "pulled": []})
        else:
            print(f"{args.ref} was not pinned")
        return 0

    def run(store) -> int:
        lines = _pull_now(store)
        if args.json:
            emit_json({"ref": args.ref, "unpinned": was, "pulled": lines})
        else:
            print(f"unpinned {args.ref} (was v{was}); this machine follows its current version again")
            for line in lines:
                print(f"  {line}")
        return 0

    try:
        return _with_store(run)
    except StoreError:
        import sys

        # to stderr, before the handler's error line: stdout stays one JSON document with --json
        print("the pin is removed; the next session start pulls the current version", file=sys.stderr)
        raise
