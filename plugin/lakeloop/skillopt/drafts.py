"""Drafts of new skills (skillify): the drafter's reply checked, the draft's proposal row, and the
team-shared record of a procedure someone rejected or accepted.

* A draft is a skills row with scope ``proposal`` (never pulled, never current), ``version`` 0 (it
  has no base), ``name`` the drafted name, ``author`` the drafting user, ``body`` the SKILL.md with
  its front matter rewritten to exactly ``name`` and ``description``, ``contributors`` ``[user,
  "lakeloop-skillify"]``, ``source_sessions`` the evidence sessions' ids, and ``description`` the
  JSON text ``{"kind": "new_skill", "fingerprint", "steps", "sessions", "occurrences", "held_by",
  "proposed_by", "reason", "skill_description"}``. ``steps`` are abstracted (``Bash: git commit``)
  and ``sessions`` are row paths: no text of a session is stored, only the drafter's body. Its id
  is ``uuid5(DRAFT_NAMESPACE, "<fingerprint>:<user>")``, so a retried run stores the same row.
* A decision is a memory-table row at ``/skillify/<decision>/<fingerprint>.json`` (``rejected``, or
  ``accepted`` when a draft of it became a skill; hidden from the memory path and search), id
  ``uuid5(DRAFT_NAMESPACE, "<decision>:<fingerprint>")``, description ``lakeloop-skillify
  <decision>``: every teammate's skillify skips that procedure for good.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import LakeloopError
from ..identity import utc_now
from ..store.base import SkillRow
from ..store.memory_types import NoteRow

#: Namespace of draft and rejection ids (a fixed literal: ids agree across machines and runs).
DRAFT_NAMESPACE = uuid.UUID("9c4a7e21-3b6d-4f0a-8e15-2d7b9a6c0f43")
#: ``kind`` of a new-skill draft in its proposal's JSON description (a held edit has none: "edit").
NEW_SKILL = "new_skill"
#: The last contributor of a draft: who drafted it.
SKILLIFY = "lakeloop-skillify"
#: Where settled procedures are recorded (memory-table paths ``/skillify/<decision>/<fingerprint>.json``):
#: rejected, or accepted as a skill. Either way skillify never drafts that procedure again.
DECIDED_DIR = "/skillify/"
REJECTED, ACCEPTED = "rejected", "accepted"
DECISIONS = (REJECTED, ACCEPTED)
#: Longest draft body (characters, front matter included) and description.
MAX_BODY_CHARS = 8000
MAX_DESCRIPTION_CHARS = 300
#: A drafted skill name: lower case, digits and single dashes, at most 64 characters.
NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?!-)){0,62}[a-z0-9]")
_FINGERPRINT = re.compile(r"[0-9a-f]{32}")
#: Characters a YAML stream may not hold raw (JSON leaves them unescaped).
_YAML_UNPRINTABLE = re.compile("[\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_FRONT_NAME = re.compile(r"^name[ \t]*:[ \t]*[\"']?([^\"'\n]*?)[\"']?[ \t]*$", re.M)


class DraftError(LakeloopError, ValueError):
    """The drafter's reply is not a usable draft; ``str()`` says why (no reply text)."""


@dataclass(frozen=True)
class Draft:
    """A checked draft: ``name``, one-line ``description``, ``body`` (front matter rewritten)."""

    name: str
    description: str
    body: str


@dataclass(frozen=True)
class Skip:
    """The drafter declined: ``why`` (``covered by <ref>`` or its own one-line reason)."""

    why: str


def _reply_object(text: str) -> dict:
    """The JSON object of a reply: the whole text, or its outermost ``{...}`` (a reply may wrap it
    in a code fence or a sentence). Raises DraftError."""
    text = text.strip()
    for candidate in (text, text[text.find("{") : text.rfind("}") + 1]):
        try:
            obj = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(obj, dict):
            return obj
    raise DraftError("the reply is not a JSON object")


def front_matter_line(description: str) -> str:
    """``description: "<text>"``: always a JSON string, which is a valid YAML double-quoted scalar
    (control characters escaped), so YAML reads back the very text given, whatever it looks like
    (``null``, ``no``, ``0x1F``, ``a: b``). Characters YAML does not allow raw (DEL, C1 controls,
    surrogates, U+FFFE/U+FFFF) are escaped too, as ``\\uXXXX`` (the same escape in JSON and YAML)."""
    quoted = json.dumps(description, ensure_ascii=False)
    return "description: " + _YAML_UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", quoted)


def parse_reply(text: str) -> Draft | Skip:
    """The drafter's reply read: ``{"skip": why}`` or ``{"covered_by": ref}`` give ``Skip``;
    ``{"name", "description", "body"}`` gives a ``Draft`` whose body's front matter is replaced by
    exactly ``name`` and ``description``. Raises DraftError: not a JSON object; a name that is not
    ``NAME_RE``; an empty description; an empty body; a body whose own front matter names another
    skill; a body over ``MAX_BODY_CHARS`` (after the rewrite)."""
    from .guard import front_matter

    obj = _reply_object(text)
    if "covered_by" in obj or "skip" in obj:
        why = f"covered by {obj['covered_by']}" if "covered_by" in obj else str(obj.get("skip") or "")
        return Skip(" ".join(why.split())[:200])
    name, description, body = obj.get("name"), obj.get("description"), obj.get("body")
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise DraftError("the draft's name is not a skill name (lower case, digits, dashes, at most 64)")
    if not isinstance(description, str) or not description.strip():
        raise DraftError("the draft has no description")
    if not isinstance(body, str) or not body.strip():
        raise DraftError("the draft has no body")
    description = " ".join(description.split())[:MAX_DESCRIPTION_CHARS]
    head = front_matter(body)
    named = _FRONT_NAME.search(head)
    if named and named.group(1).strip() != name:
        raise DraftError("the draft's front matter names another skill")
    body = f"---\nname: {name}\n{front_matter_line(description)}\n---\n" + body[len(head) :].lstrip("\n")
    if len(body) > MAX_BODY_CHARS:
        raise DraftError(f"the draft is over {MAX_BODY_CHARS} characters: {len(body)}")
    return Draft(name, description, body)


def draft_id(fingerprint: str, user: str) -> str:
    """The draft row's id: ``uuid5(DRAFT_NAMESPACE, "<fingerprint>:<user>")``."""
    return str(uuid.uuid5(DRAFT_NAMESPACE, f"{fingerprint}:{user}"))


def draft_row(
    draft: Draft,
    fingerprint: str,
    steps: Sequence[str],
    sessions: Sequence[str],
    session_ids: Sequence[str],
    held_by: Sequence[str],
    user: str,
    agent: str = "claude_code",
    now: str | None = None,
) -> SkillRow:
    """The proposal row holding ``draft`` (module docstring). ``sessions``: the evidence sessions'
    row paths; ``session_ids``: their ids (``source_sessions``); ``held_by``: ``guard.check_draft``'s
    reasons; ``agent``: the rows' agent of the sessions."""
    now = now or utc_now()
    meta = {
        "kind": NEW_SKILL,
        "fingerprint": fingerprint,
        "steps": list(steps),
        "sessions": list(sessions),
        "occurrences": len(sessions),
        "held_by": list(held_by),
        "proposed_by": user,
        "reason": f"repeated in {len(sessions)} sessions",
        "skill_description": draft.description,
    }
    return SkillRow(
        id=draft_id(fingerprint, user),
        name=draft.name,
        author=user,
        body=draft.body,
        version=0,
        source_sessions=list(session_ids),
        source_agent=agent,
        scope="proposal",
        contributors=[user, SKILLIFY],
        description=json.dumps(meta, ensure_ascii=False),
        created_at=now,
        updated_at=now,
    )


def draft_meta(row: SkillRow) -> dict | None:
    """The JSON description of a new-skill draft row, or None for any other row."""
    try:
        meta = json.loads(row.description)
    except ValueError:
        return None
    return meta if isinstance(meta, dict) and meta.get("kind") == NEW_SKILL else None


def decision_path(fingerprint: str, decision: str = REJECTED) -> str:
    """``/skillify/<decision>/<fingerprint>.json``. Raises ValueError for a malformed fingerprint or
    a decision not in ``DECISIONS``."""
    if not _FINGERPRINT.fullmatch(fingerprint) or decision not in DECISIONS:
        raise ValueError("not a procedure fingerprint and decision")
    return f"{DECIDED_DIR}{decision}/{fingerprint}.json"


def decided_fingerprint(path: str) -> str | None:
    """The fingerprint a decision row's path names (``/skillify/<decision>/<fingerprint>.json``),
    or None for any other path."""
    head, _, name = path.rpartition("/")
    if head not in (f"{DECIDED_DIR}{d}" for d in DECISIONS) or not name.endswith(".json"):
        return None
    name = name[: -len(".json")]
    return name if _FINGERPRINT.fullmatch(name) else None


def decision_doc(
    fingerprint: str, steps: Sequence[str], user: str, decision: str = REJECTED, now: str | None = None
) -> NoteRow:
    """The memory row recording that ``user`` settled procedure ``fingerprint``: ``rejected`` it or
    ``accepted`` a draft of it (module docstring); its JSON text holds ``schema``, ``fingerprint``,
    ``steps``, ``decision``, ``by``, ``at``. Raises ValueError for a malformed fingerprint or decision."""
    now = now or utc_now()
    text = {"schema": 1, "fingerprint": fingerprint, "steps": list(steps), "decision": decision, "by": user, "at": now}
    return NoteRow(
        id=str(uuid.uuid5(DRAFT_NAMESPACE, f"{decision}:{fingerprint}")),
        path=decision_path(fingerprint, decision),
        text=json.dumps(text, sort_keys=True),
        author=user,
        project="",
        date=now,
        description=f"lakeloop-skillify {decision}",
    )
