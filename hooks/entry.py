"""Thin entry script Claude Code runs (through ``hooks/run``): ``entry.py <HookEvent>``.

Puts the plugin's source root on ``sys.path`` and hands over to
``lakeloop.hooks.main``. Exits 0 whatever happens. Sets the umask to 077 first, so
nothing a hook process or its detached children create is readable by other users.
"""

import os
import sys

os.umask(0o077)  # every file and directory a hook (and the drainer or worker it starts) creates is private
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "plugin"))
try:
    from lakeloop.hooks.main import main

    main(sys.argv[1:])
except BaseException:  # a hook must never fail the agent; main() logs its own crashes
    pass
sys.exit(0)
