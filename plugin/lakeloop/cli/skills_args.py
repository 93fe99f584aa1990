"""The ``lakeloop skills`` argument parsers: list (the default), push, history, stats, diff,
rollback, pin, unpin, proposals, accept, reject. Kept apart from the commands so building the
parser imports nothing but argparse; ``cli.skills.run`` dispatches."""

from __future__ import annotations

import argparse

#: (subcommand, one-line help) in the order ``lakeloop skills --help`` lists them.
SUBCOMMANDS = (
    ("list", "team skills: name, author, current version (the default)"),
    ("push", "share a skill directory as your team skill (or a new version)"),
    ("history", "every version of a skill: when, who published it, and why"),
    ("stats", "per version: uses, failure rate and its 95 percent interval, publisher"),
    ("diff", "unified diff between two versions (default: previous vs current)"),
    ("rollback", "publish an earlier version's body as a new version"),
    ("pin", "keep this machine on one version of a skill at every pull"),
    ("unpin", "follow a skill's current version again"),
    ("proposals", "optimizer changes to your skills waiting for your review"),
    ("accept", "publish a waiting change as a new version"),
    ("reject", "discard a waiting change"),
)


def _version(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a version number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"versions start at 1: {value}")
    return value


def add_skills_parser(sub, formatter_class=argparse.HelpFormatter) -> argparse.ArgumentParser:
    """Add ``skills`` and its subcommands to ``sub`` (the top-level subparsers action), their
    help laid out by ``formatter_class``. ``args.skills_command`` is the subcommand (None
    means list)."""
    skills = sub.add_parser(
        "skills",
        help="team skills: list, push, history, diff, pin, review",
        description="Team skills in the store. Without a subcommand: list them.",
        formatter_class=formatter_class,
    )
    skills.add_argument("--json", action="store_true", help="print JSON")
    helps = dict(SUBCOMMANDS)
    skills_sub = skills.add_subparsers(dest="skills_command", metavar="SUBCOMMAND", title="subcommands")

    def add(name: str) -> argparse.ArgumentParser:
        parser = skills_sub.add_parser(name, help=helps[name], description=helps[name], formatter_class=formatter_class)
        parser.add_argument("--json", action="store_true", help="print JSON")
        return parser

    add("list")
    push = add("push")
    push.add_argument("directory", help="a skill directory holding SKILL.md")
    push.add_argument("--name", help="skill name (default: front matter name, else the directory name)")
    push.add_argument("--author", help="whose skill this is (default: you; another author needs --as-contributor)")
    push.add_argument(
        "--as-contributor",
        action="store_true",
        help="publish a new version of --author's existing skill, recorded as yours",
    )

    history = add("history")
    history.add_argument("ref", help="the skill, <name>--<author> (or <name> when one author has it)")

    stats = add("stats")
    stats.add_argument("ref", nargs="?", help="only this skill, with its weekly trend (default: every skill)")

    diff = add("diff")
    diff.add_argument("ref", help="the skill, <name>--<author> (or <name> when one author has it)")
    diff.add_argument("a", nargs="?", type=_version, help="from this version (default: the one before current)")
    diff.add_argument("b", nargs="?", type=_version, help="to this version (default: current)")

    rollback = add("rollback")
    rollback.add_argument("ref", help="the skill, <name>--<author> (or <name> when one author has it)")
    rollback.add_argument("--to", type=_version, required=True, metavar="N", help="the version to restore")

    pin = add("pin")
    pin.add_argument("ref", help="the skill, <name>--<author> (or <name> when one author has it)")
    pin.add_argument("version", type=_version, help="the version to stay on")

    unpin = add("unpin")
    unpin.add_argument("ref", help="the skill, <name>--<author> (or <name> when one author has it)")

    proposals = add("proposals")
    proposals.add_argument("ref", nargs="?", help="only this skill's, <name>--<author>")
    for name in ("accept", "reject"):
        review = add(name)
        review.add_argument("ref", help="the skill, <name>--<author> (or <name> when one author has it)")
        review.add_argument("proposal_id", metavar="ID", help="the proposal's id (lakeloop skills proposals)")
    return skills
