"""Thin entry script Claude Code runs (through ``hooks/run``): ``entry.py <HookEvent>``, or
``entry.py cli ARGS...`` for the ``lakeloop ARGS...`` command (the plugin's slash commands).

Puts the plugin's source root on ``sys.path`` and hands over to
``lakeloop.hooks.main``. Exits 0 whatever happens. Sets the umask to 077 first, so
nothing a hook process or its detached children create is readable by other users.
"""

import os
import sys

os.umask(0o077)  # every file and directory a hook (and the drainer or worker it starts) creates is private
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "plugin"))
try:
    if sys.argv[1:2] == ["cli"]:  # `run cli ARGS...`: the lakeloop command itself (the slash commands)
        from lakeloop.cli.main import main as command

        command(sys.argv[2:])
    else:
        from lakeloop.hooks.main import main

        main(sys.argv[1:])
except BaseException:  # a hook must never fail the agent; main() logs its own crashes
    pass
sys.exit(0)
