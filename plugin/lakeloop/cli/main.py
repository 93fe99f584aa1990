"""``lakeloop`` command-line dispatch. Each subcommand lives in its own module and is
imported only when used."""

from __future__ import annotations

import argparse
import sys

from .. import __version__


class OneLineHelp(argparse.HelpFormatter):
    """Help formatter that never wraps a help text: every command and option keeps one line
    (``lakeloop --help`` lists each user-facing command with one line)."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return [" ".join(text.split())]

    def add_argument(self, action: argparse.Action) -> None:
        super().add_argument(action)
        # argparse measures sub-commands one indent level short of where it prints them, so a
        # long one ("proposals") would push its help to a second line: measure them as printed.
        for choice in getattr(action, "_choices_actions", ()):
            width = len(choice.metavar or "") + self._current_indent + 2 * self._indent_increment
            self._action_max_length = max(self._action_max_length, width)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="lakeloop", description="lakeloop: session capture and org skill improvement", formatter_class=OneLineHelp
    )
    p.add_argument("--version", action="version", version=f"lakeloop {__version__}")
    # metavar: the usage line says COMMAND instead of listing every choice (the hidden ones too)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", title="commands")

    logs = sub.add_parser("logs", help="print the log file (or follow it with -f)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    logs.add_argument("-n", "--lines", type=int, default=50, help="how many last lines (default 50)")

    status = sub.add_parser("status", help="store, paths, outbox, pulled and pinned skills")
    status.add_argument("--json", action="store_true")

    sessions = sub.add_parser("sessions", help="captured sessions with their rows' event types")
    sessions.add_argument("--json", action="store_true")
    sessions.add_argument("--limit", type=int, default=20)

    from .skills_args import add_skills_parser

    add_skills_parser(sub, OneLineHelp)

    login = sub.add_parser("login", help="save Deeplake credentials (~/.deeplake, mode 0600)")
    login.add_argument("--token", help="the Deeplake token, or - to read it from stdin (default: stdin)")
    login.add_argument("--org-id", required=True, help="the Deeplake organisation id")
    login.add_argument("--org-name", help="organisation name (used in session paths)")
    login.add_argument("--workspace", help="workspace (default: default)")
    login.add_argument("--api-url", help="API base URL (default: https://api.deeplake.ai)")
    login.add_argument("--user-name", help="your user name on rows (default: login name)")

    sub.add_parser("doctor", help="one round trip to the store; says what failed")

    flush = sub.add_parser("flush", help="store the outbox's waiting events now")
    flush.add_argument(
        "--wait", type=float, default=30.0, help="seconds to wait for a running drainer to finish first (default 30)"
    )
    flush.add_argument("--json", action="store_true")

    worker = sub.add_parser("worker")  # internal (the optimizer's process): no help, so never listed
    worker.add_argument("job_file")

    from .jobs import add_parser as add_jobs_parser

    add_jobs_parser(sub, OneLineHelp)

    from .forget import add_parser as add_forget_parser

    add_forget_parser(sub)

    from .search import add_parser as add_search_parser

    add_search_parser(sub)

    from .install import add_parser as add_install_parser

    add_install_parser(sub)

    from .agents import add_parser as add_agents_parser

    add_agents_parser(sub)

    from .ui import add_parser as add_ui_parser

    add_ui_parser(sub)

    demo = sub.add_parser("demo", help="replay a recorded session through the real hooks")
    demo.add_argument("--dir", help="working directory for the demo's state (default: a new temp dir)")
    demo.add_argument("--keep", action="store_true", help="keep the demo's directory")
    demo.add_argument(
        "--scripted", action="store_true", help="use the scripted agent stand-in even when claude is installed"
    )
    return p


def _run(args: argparse.Namespace) -> int:
    """Import the command ``args.command`` names and run it; returns its exit code."""
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
    elif args.command == "jobs":
        from .jobs import run
    elif args.command == "login":
        from .login import run
    elif args.command == "doctor":
        from .doctor import run
    elif args.command == "flush":
        from .flush import run
    elif args.command == "forget":
        from .forget import run
    elif args.command == "search":
        from .search import run
    elif args.command == "install":
        from .install import run
    elif args.command == "uninstall":
        from .uninstall import run
    elif args.command == "agents":
        from .agents import run
    elif args.command == "ui":
        from .ui import run
    else:
        from .demo import run
    return run(args)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the subcommand through ``cli.error_handler.run_command`` (an
    error is one line on stderr, a traceback goes to the log file); returns the exit code."""
    import os

    from .error_handler import run_command

    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    umask = os.umask(0o077)  # what the command (and a worker it is) creates is private to the user
    try:
        return run_command(_run, args)
    finally:
        os.umask(umask)


if __name__ == "__main__":
    sys.exit(main())
