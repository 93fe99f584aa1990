"""``lakeloop login``: save Deeplake credentials to ``~/.deeplake/credentials.json`` (mode 0600).

The file is the one other Deeplake tools share. ``--token -`` (or no
``--token`` at all) reads the token from standard input, which keeps it out of
the process list and shell history; ``--token TOKEN`` works too.
"""

from __future__ import annotations

import sys


def run(args) -> int:
    """Write the credentials file. Exit 2 when no token or org id is given."""
    from ..deeplake.credentials import save

    token = args.token
    if token in (None, "-"):
        if sys.stdin.isatty():
            import getpass

            token = getpass.getpass("Deeplake token: ")
        else:
            token = sys.stdin.readline()
    token = (token or "").strip()
    if not token or not args.org_id.strip():
        print("lakeloop login: a token and --org-id are required")
        return 2
    path = save(
        token,
        args.org_id.strip(),
        org_name=args.org_name or "",
        user_name=args.user_name or "",
        workspace=args.workspace or "",
        api_url=args.api_url or "",
    )
    print(f"saved Deeplake credentials to {path} (mode 0600); `lakeloop doctor` checks them")
    return 0
