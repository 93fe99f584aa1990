"""lakeloop: capture Claude Code sessions into a store and improve org skills from reactions.

The package is import-light on purpose: hook processes import only the modules
they use (see ``lakeloop.hooks.main``).
"""

__version__ = "0.1.0"
