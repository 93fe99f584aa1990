"""The skill-improvement loop (skillopt-loop.md): arming, reaction, worker, edits."""
