"""``lakeloop ui [--port N] [--no-browser]``: serve the local web dashboard on 127.0.0.1
(docs/ui.md). The web libraries load only here, inside ``run``: no other command, and no hook,
imports them."""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    """Add the ``ui`` subcommand to the ``sub`` sub-parsers of ``lakeloop``."""
    ui = sub.add_parser("ui", help="serve the local web dashboard on 127.0.0.1 and open it in the browser")
    ui.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (default 0: a free port)")
    ui.add_argument("--no-browser", action="store_true", help="print the URL without opening the browser")


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; returns 0. Raises RequestRefused when the port cannot be bound."""
    from ..ui.server import serve

    return serve(args.port, open_browser=not args.no_browser)
