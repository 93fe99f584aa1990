"""``lakeloop skills [--json]`` lists team skills; ``lakeloop skills push DIR`` shares one;
``run`` dispatches every ``skills`` subcommand (``cli.skills_args``).

``push`` is ``skillopt.publish.push`` with the user (``skillopt.versions.current_user``) as the
publisher; this module only calls and prints. What they raise (a refused push: exit 2; a store
failure: exit 1) is printed by ``cli.error_handler``.
"""

from __future__ import annotations

from pathlib import Path

from ._output import emit_json, table


def _push(args) -> int:
    from ..skillopt.publish import push
    from ..skillopt.versions import current_user

    row = push(Path(args.directory), args.name, args.author, user=current_user(), as_contributor=args.as_contributor)
    publisher = row.contributors[-1]
    if args.json:
        emit_json(
            {"name": row.name, "author": row.author, "ref": row.ref, "version": row.version, "published_by": publisher}
        )
    else:
        by = "" if publisher == row.author else f" (published by {publisher})"
        print(f"pushed {row.ref} as version {row.version}{by}")
    return 0


def _list(args) -> int:
    from ..skillopt.versions import publisher
    from ..store import open_store

    with open_store() as store:
        skills = [s for s in store.latest_skills(scope=None) if s.scope != "proposal"]
    items = [
        {
            "name": s.name,
            "author": s.author,
            "ref": s.ref,
            "version": s.version,
            "scope": s.scope,
            "contributors": s.contributors,
            "published_by": publisher(s).label(),
            "updated_at": s.updated_at,
        }
        for s in skills
    ]
    if args.json:
        emit_json({"skills": items})
    elif not items:
        print("no skills in the store yet (share one with: lakeloop skills push DIR)")
    else:
        table(
            ["NAME", "AUTHOR", "VERSION", "SCOPE", "PUBLISHED BY", "UPDATED"],
            [[i["name"], i["author"], i["version"], i["scope"], i["published_by"], i["updated_at"]] for i in items],
        )
    return 0


def run(args) -> int:
    """Run ``lakeloop skills <subcommand>``; returns its exit code. A REF argument is resolved first
    (``skills_history.resolve``: a bare name, "did you mean"). Raises ``RequestRefused`` for bad
    input or a refused action, ``StoreError`` (``cli.error_handler`` prints them: exit 2, 1)."""
    command = getattr(args, "skills_command", None) or "list"
    if command == "list":
        return _list(args)
    if command == "push":
        return _push(args)
    if getattr(args, "ref", None) is not None:  # the one place a command's REF is resolved
        from .skills_history import BadSkillRef, resolve

        try:
            args.ref = resolve(args.ref, pinned_ok=command == "unpin")
        except BadSkillRef:
            from ..skillopt.refs import split_ref

            # a new skill's draft has no team skill yet: its full ref is taken as it is
            if command not in ("proposals", "accept", "reject") or split_ref(args.ref) is None:
                raise
    if command == "stats":
        from .skills_stats import stats

        return stats(args)
    if command in ("history", "diff", "rollback", "pin", "unpin"):
        from . import skills_history

        return getattr(skills_history, command)(args)
    from . import skills_review

    return getattr(skills_review, command)(args)
