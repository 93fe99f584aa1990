"""Publishing a skill directory as a team skill: ``push``, ``front_matter`` and ``SkillPushRefused``.

``push`` reads ``DIR/SKILL.md`` and inserts it as the team skill ``<name>--<author>``: version 1,
or the current version + 1 when it exists (append-only). The name comes from the caller, else the
front matter's ``name``, else the directory name.

Authorship: the publisher is the user (``skillopt.versions.current_user``, the identity captured
rows carry) and the author defaults to them; publishing under another author is refused unless
``as_contributor`` is given, and then it must be a new version of that author's existing skill.
The publisher is appended to ``contributors`` (its last element names who published each version,
``skillopt.versions``).

Used by ``lakeloop skills push`` (``cli.skills``) and the demo; the CLI only parses and prints.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from ..errors import RequestRefused

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..store.base import SkillRow

_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*(?:\n|\Z)", re.S)


class SkillPushRefused(RequestRefused, ValueError):
    """A push that cannot or must not be done: ``SKILL.md`` unreadable, a name or author that is
    not one safe path component, or a push that would misattribute a skill (another author
    without ``as_contributor``, or ``as_contributor`` on a skill that does not exist). The
    message says why and what to do instead. A ValueError too (bad input)."""


def front_matter(text: str) -> dict[str, str]:
    """``key: value`` pairs of a SKILL.md's front matter (the flat YAML subset between the
    leading ``---`` lines; quotes around a value dropped). ``{}`` when there is none."""
    match = _FRONT.match(text)
    fields: dict[str, str] = {}
    if match:
        for line in match.group(1).splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() and not key.startswith((" ", "\t")):
                fields[key.strip()] = value.strip().strip("'\"")
    return fields


def push(
    directory: Path,
    name: str | None = None,
    author: str | None = None,
    user: str | None = None,
    as_contributor: bool = False,
) -> SkillRow:
    """Insert ``directory/SKILL.md`` as the next version of ``<name>--<author>``, published by
    ``user``; returns the ``store.base.SkillRow`` written.

    ``user`` is the publisher (the CLI passes ``skillopt.versions.current_user()``); None means
    the author publishes their own skill (library callers such as the demo). ``author`` defaults
    to ``user``, else ``current_user()``.

    Raises ``SkillPushRefused`` for an unreadable ``SKILL.md``, an unsafe name or author, an
    ``author`` other than ``user`` without ``as_contributor``, or ``as_contributor`` naming a
    skill that does not exist; ``StoreError`` when the store fails.
    """
    from ..identity import utc_now
    from ..store import open_store
    from ..store.base import SkillRow
    from .refs import is_valid_part, split_ref
    from .versions import current_user, with_publisher

    skill_md = Path(directory) / "SKILL.md"
    try:
        body = skill_md.read_text(encoding="utf-8")
    except OSError as exc:
        raise SkillPushRefused(f"cannot read {skill_md}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SkillPushRefused(f"cannot read {skill_md}: it is not UTF-8 text") from None
    meta = front_matter(body)
    name = name or meta.get("name") or Path(directory).resolve().name
    pulled = split_ref(name) if "--" in name and not meta.get("name") else None
    if pulled:
        name = pulled[0]  # a pulled directory <name>--<author>
    author = author or user or current_user()
    user = user or author
    if not is_valid_part(name) or not is_valid_part(author) or split_ref(f"{name}--{author}") != (name, author):
        raise SkillPushRefused(f"unsafe skill name or author: {name[:80]!r} / {author[:80]!r}")
    if author != user and not as_contributor:
        raise SkillPushRefused(
            f"refused: you are {user!r}: you cannot publish a skill under another author "
            f"({author!r}). Push it as your own (drop --author), or add --as-contributor to "
            f"publish a new version of {name}--{author} recorded as yours."
        )
    with open_store() as store:
        current = store.current_skill(name, author)
        if current is None and author != user:
            raise SkillPushRefused(
                f"refused: {name}--{author} does not exist: --as-contributor only adds a "
                f"version to an existing skill. Push it as your own skill instead (drop --author)."
            )
        now = utc_now()
        row = SkillRow(
            id=str(uuid.uuid4()),
            name=name,
            author=author,
            body=body,
            version=(current.version + 1) if current else 1,
            scope="team",
            install="global",
            contributors=with_publisher(current.contributors if current else [], user),
            source_sessions=list(current.source_sessions) if current else [],
            description=meta.get("description", ""),
            trigger_text=meta.get("description", ""),
            local_path=str(skill_md.resolve()),
            created_at=now,
            updated_at=now,
        )
        store.insert_skill(row)
    return row
