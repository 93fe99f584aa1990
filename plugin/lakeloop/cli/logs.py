"""``lakeloop logs [-f] [-n N]``: print the last lines of the log file, optionally following it.

Log lines can hold hostile text (a logged path, ref or pattern), so each is printed with its
control and bidi characters shown as escapes (``lakeloop.textsafe.escape``: ``\\x1b``).
"""

from __future__ import annotations

import sys
import time
from collections import deque

from .. import paths
from ..textsafe import escape


def run(args) -> int:
    """Print the last ``args.lines`` lines; with ``--follow`` keep printing until interrupted."""
    path = paths.log_file()
    print(f"# {path}", file=sys.stderr)
    if not path.exists() and not args.follow:
        print("no log yet: no hook has run with this LAKELOOP_LOG_DIR", file=sys.stderr)
        return 0
    try:
        if path.exists():
            with open(path, encoding="utf-8", errors="replace") as fh:
                for line in deque(fh, maxlen=max(0, args.lines)):
                    sys.stdout.write(escape(line))
        if not args.follow:
            return 0
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
        with open(path, encoding="utf-8", errors="replace") as fh:
            fh.seek(0, 2)
            inode = path.stat().st_ino
            print(f"# following {path} (Ctrl-C to stop)", file=sys.stderr, flush=True)
            while True:
                line = fh.readline()
                if line:
                    sys.stdout.write(escape(line))
                    sys.stdout.flush()
                    continue
                time.sleep(0.25)
                try:
                    if path.stat().st_ino != inode:  # rotated: reopen
                        return run(type(args)(follow=True, lines=0))
                except FileNotFoundError:
                    pass
    except KeyboardInterrupt:
        return 0
