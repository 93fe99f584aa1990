"""The skill-improvement loop (docs/skill-loop.md): arming, reaction, worker, edits."""

#: The reaction handed to the worker is cut to this many characters (docs/skill-loop.md).
MAX_REACTION_CHARS = 8000
