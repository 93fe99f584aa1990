"""``lakeloop skills [--json]`` lists team skills; ``lakeloop skills push DIR`` shares one;
``run`` dispatches every ``skills`` subcommand (``cli.skills_args``).

``push`` reads ``DIR/SKILL.md`` and inserts it as the team skill
``<name>--<author>``: version 1, or the current version + 1 when it exists
(append-only). The name comes from ``--name``, else the front matter's
``name``, else the directory name. Authorship (issue 7): the publisher is the
user (``lakeloop.store.current_identity``, the identity captured rows carry) and
the author defaults to them; ``--author X`` for another user is refused unless
``--as-contributor`` is given, and then it must be a new version of X's existing
skill. The publisher is appended to ``contributors`` (its last element names who
published each version, ``skillopt.versions``).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from ..errors import StoreError
from ._output import emit_json, table

_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)


class Refused(ValueError):
    """A push that would misattribute a skill (issue 7, authorship)."""


def front_matter(text: str) -> dict[str, str]:
    """``key: value`` pairs of a SKILL.md's front matter (flat YAML subset)."""
    match = _FRONT.match(text)
    fields: dict[str, str] = {}
    if match:
        for line in match.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() and not key.startswith((" ", "\t")):
                fields[key.strip()] = value.strip().strip("'\"")
    return fields


def push(directory: Path, name: str | None = None, author: str | None = None, user: str | None = None,
         as_contributor: bool = False):
    """Insert ``directory/SKILL.md`` as the next version of ``<name>--<author>``, published by
    ``user``.

    ``user`` is the publisher (the CLI passes ``skillopt.versions.current_user()``); None means the author
    publishes their own skill (library callers such as the demo). ``author`` defaults to
    ``user``, else ``current_user()``. Returns the SkillRow written. Raises ``Refused`` when
    ``author`` is not ``user`` and ``as_contributor`` is false, or ``as_contributor`` names a
    skill that does not exist; ValueError for a missing file or an unsafe name/author;
    StoreError when the store fails.
    """
    from ..rows import utc_now
    from ..skillopt.refs import is_valid_part, split_ref
    from ..skillopt.versions import current_user, with_publisher
    from ..store import open_store
    from ..store.base import SkillRow

    skill_md = Path(directory) / "SKILL.md"
    try:
        body = skill_md.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read {skill_md}: {exc.strerror}") from None
    meta = front_matter(body)
    name = name or meta.get("name") or Path(directory).resolve().name
    if "--" in name and not meta.get("name") and split_ref(name):
        name = split_ref(name)[0]  # a pulled directory <name>--<author>
    author = author or user or current_user()
    user = user or author
    if not is_valid_part(name) or not is_valid_part(author) or split_ref(f"{name}--{author}") != (name, author):
        raise ValueError(f"unsafe skill name or author: {name[:80]!r} / {author[:80]!r}")
    if author != user and not as_contributor:
        raise Refused(f"you are {user!r}: you cannot publish a skill under another author ({author!r}). "
                      f"Push it as your own (drop --author), or add --as-contributor to publish a new "
                      f"version of {name}--{author} recorded as yours.")
    with open_store() as store:
        current = store.current_skill(name, author)
        if current is None and author != user:
            raise Refused(f"{name}--{author} does not exist: --as-contributor only adds a version to an "
                          f"existing skill. Push it as your own skill instead (drop --author).")
        now = utc_now()
        row = SkillRow(
            id=str(uuid.uuid4()), name=name, author=author, body=body,
            version=(current.version + 1) if current else 1, scope="team", install="global",
            contributors=with_publisher(current.contributors if current else [], user),
            source_sessions=list(current.source_sessions) if current else [],
            description=meta.get("description", ""), trigger_text=meta.get("description", ""),
            local_path=str(skill_md.resolve()), created_at=now, updated_at=now,
        )
        store.insert_skill(row)
    return row


def _push(args) -> int:
    from ..skillopt.versions import current_user

    try:
        row = push(Path(args.directory), args.name, args.author, user=current_user(),
                   as_contributor=args.as_contributor)
    except ValueError as exc:
        print(f"lakeloop: {'refused: ' if isinstance(exc, Refused) else ''}{exc}")
        return 2
    except StoreError as exc:
        print(f"lakeloop: cannot write the store: {exc}")
        return 1
    publisher = row.contributors[-1]
    if args.json:
        emit_json({"name": row.name, "author": row.author, "ref": row.ref, "version": row.version,
                   "published_by": publisher})
    else:
        by = "" if publisher == row.author else f" (published by {publisher})"
        print(f"pushed {row.ref} as version {row.version}{by}")
    return 0


def _list(args) -> int:
    from ..skillopt.versions import publisher
    from ..store import open_store

    try:
        with open_store() as store:
            skills = [s for s in store.latest_skills(scope=None) if s.scope != "proposal"]
    except StoreError as exc:
        print(f"lakeloop: cannot read the store: {exc}")
        return 1
    items = [{"name": s.name, "author": s.author, "ref": s.ref, "version": s.version, "scope": s.scope,
              "contributors": s.contributors, "published_by": publisher(s).label(), "updated_at": s.updated_at}
             for s in skills]
    if args.json:
        emit_json({"skills": items})
    elif not items:
        print("no skills in the store yet (share one with: lakeloop skills push DIR)")
    else:
        table(["NAME", "AUTHOR", "VERSION", "SCOPE", "PUBLISHED BY", "UPDATED"],
              [[i["name"], i["author"], i["version"], i["scope"], i["published_by"], i["updated_at"]]
               for i in items])
    return 0


def run(args) -> int:
    """Run ``lakeloop skills <subcommand>``. Exit 0 on success, 1 on a store error, 2 on bad
    input or a refused action."""
    command = getattr(args, "skills_command", None) or "list"
    if command == "list":
        return _list(args)
    if command == "push":
        return _push(args)
    if command in ("history", "diff", "rollback", "pin", "unpin"):
        from . import skills_history

        return getattr(skills_history, command)(args)
    try:
        from . import skills_review
    except ImportError as exc:  # pragma: no cover - the review commands ship with issue 7
        print(f"lakeloop: skills {command} is not available in this build: {exc}")
        return 1
    return getattr(skills_review, command)(args)
