"""``lakeloop skills [--json]`` lists team skills; ``lakeloop skills push DIR`` shares one.

``push`` reads ``DIR/SKILL.md`` and inserts it as the team skill
``<name>--<author>``: version 1, or the current version + 1 when it exists
(append-only). The name comes from ``--name``, else the front matter's
``name``, else the directory name; the author from ``--author``, else the user.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from .. import config
from ..errors import StoreError
from ._output import emit_json, table

_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)


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


def push(directory: Path, name: str | None = None, author: str | None = None):
    """Insert ``directory/SKILL.md`` as the next version of ``<name>--<author>``.

    Returns the SkillRow written. Raises ValueError for a missing file or an
    unsafe name/author, StoreError when the store fails.
    """
    from ..rows import utc_now
    from ..skillopt.refs import is_valid_part, split_ref
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
    author = author or config.user_name()
    if not is_valid_part(name) or not is_valid_part(author) or split_ref(f"{name}--{author}") != (name, author):
        raise ValueError(f"unsafe skill name or author: {name[:80]!r} / {author[:80]!r}")
    with open_store() as store:
        current = store.current_skill(name, author)
        now = utc_now()
        row = SkillRow(
            id=str(uuid.uuid4()), name=name, author=author, body=body,
            version=(current.version + 1) if current else 1, scope="team", install="global",
            contributors=list(current.contributors) if current else [author],
            source_sessions=list(current.source_sessions) if current else [],
            description=meta.get("description", ""), trigger_text=meta.get("description", ""),
            local_path=str(skill_md.resolve()), created_at=now, updated_at=now,
        )
        store.insert_skill(row)
    return row


def run(args) -> int:
    """List skills, or push one. Exit 1 on a store error, 2 on bad input."""
    if getattr(args, "skills_command", None) == "push":
        try:
            row = push(Path(args.directory), args.name, args.author)
        except ValueError as exc:
            print(f"lakeloop: {exc}")
            return 2
        except StoreError as exc:
            print(f"lakeloop: cannot write the store: {exc}")
            return 1
        if args.json:
            emit_json({"name": row.name, "author": row.author, "ref": row.ref, "version": row.version})
        else:
            print(f"pushed {row.ref} as version {row.version}")
        return 0
    from ..store import open_store

    try:
        with open_store() as store:
            skills = store.latest_skills(scope=None)
    except StoreError as exc:
        print(f"lakeloop: cannot read the store: {exc}")
        return 1
    items = [{"name": s.name, "author": s.author, "ref": s.ref, "version": s.version, "scope": s.scope,
              "contributors": s.contributors, "updated_at": s.updated_at} for s in skills]
    if args.json:
        emit_json({"skills": items})
    elif not items:
        print("no skills in the store yet (share one with: lakeloop skills push DIR)")
    else:
        table(["NAME", "AUTHOR", "VERSION", "SCOPE", "UPDATED"],
              [[i["name"], i["author"], i["version"], i["scope"], i["updated_at"]] for i in items])
    return 0
