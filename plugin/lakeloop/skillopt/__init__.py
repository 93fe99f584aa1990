"""The skill-improvement loop (skillopt-loop.md): arming, reaction, worker, edits."""

#: The reaction handed to the worker is cut to this many characters (skillopt-loop.md).
MAX_REACTION_CHARS = 8000
