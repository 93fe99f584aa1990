"""``lakeloop`` command-line dispatch. Each subcommand lives in its own module and is
imported only when used."""

from __future__ import annotations

import argparse
import sys

from .. import __version__


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lakeloop", description="lakeloop: session capture and org skill improvement")
    p.add_argument("--version", action="version", version=f"lakeloop {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    logs = sub.add_parser("logs", help="print the log file (or follow it with -f)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("-n", "--lines", type=int, default=50, help="how many last lines (default 50)")

    status = sub.add_parser("status", help="store, paths, pending windows and pulled skills")
    status.add_argument("--json", action="store_true")

    sessions = sub.add_parser("sessions", help="captured sessions with their rows' event types")
    sessions.add_argument("--json", action="store_true")
    sessions.add_argument("--limit", type=int, default=20)

    skills = sub.add_parser("skills", help="team skills in the store (name, author, version)")
    skills.add_argument("--json", action="store_true")
    skills_sub = skills.add_subparsers(dest="skills_command")
    push = skills_sub.add_parser("push", help="share a local skill directory as a team skill")
    push.add_argument("directory", help="a skill directory holding SKILL.md")
    push.add_argument("--name", help="skill name (default: front matter name, else the directory name)")
    push.add_argument("--author", help="author (default: LAKELOOP_USER or the login name)")
    push.add_argument("--json", action="store_true")

    login = sub.add_parser("login", help="save Deeplake credentials (~/.deeplake/credentials.json, 0600)")
    login.add_argument("--token", help="the Deeplake token, or - to read it from stdin (default: stdin)")
    login.add_argument("--org-id", required=True, help="the Deeplake organisation id")
    login.add_argument("--org-name", help="organisation name (used in session paths)")
    login.add_argument("--workspace", help="workspace (default: default)")
    login.add_argument("--api-url", help="API base URL (default: https://api.deeplake.ai)")
    login.add_argument("--user-name", help="your user name on rows (default: login name)")

    sub.add_parser("doctor", help="one round trip to the store, and what failed in plain words")

    flush = sub.add_parser("flush", help="store the events waiting in the local outbox now, and say what was stored")
    flush.add_argument("--wait", type=float, default=30.0,
                       help="seconds to wait for a running drainer to finish first (default 30)")
    flush.add_argument("--json", action="store_true")

    worker = sub.add_parser("worker", help=argparse.SUPPRESS)
    worker.add_argument("job_file")

    demo = sub.add_parser("demo", help="replay the recorded session through the real hooks (embedded store)")
    demo.add_argument("--dir", help="working directory for the demo's state (default: a new temp dir)")
    demo.add_argument("--keep", action="store_true", help="keep the demo's directory")
    demo.add_argument("--scripted", action="store_true", help="use the scripted agent stand-in even when claude is installed")
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the subcommand; returns the exit code."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "logs":
        from .logs import run
    elif args.command == "status":
        from .status import run
    elif args.command == "sessions":
        from .sessions import run
    elif args.command == "skills":
        from .skills import run
    elif args.command == "worker":
        from .worker import run
    elif args.command == "login":
        from .login import run
    elif args.command == "doctor":
        from .doctor import run
    elif args.command == "flush":
        from .flush import run
    else:
        from .demo import run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
