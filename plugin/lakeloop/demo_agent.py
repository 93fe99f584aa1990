"""A scripted stand-in for the agent CLI (``claude -p ... --output-format json``).

Used by ``lakeloop demo`` when no agent CLI is installed, and labelled as such
in its output. It reads the prompt on stdin and answers like Claude Code's
JSON output (``{"type": "result", "result": ..., "is_error": false}``):

* judge (system prompt starts "You are lakeloop's judge"): failure when the last ``USER:`` line
  of the excerpt complains (wrong, failed, broke, dropped, error, ...), else success;
* proposer: one ``append`` edit adding a safety step to the skill.

It never calls a model. Run as ``python -m lakeloop.demo_agent [claude flags]``.
"""

from __future__ import annotations

import json
import re
import sys
import uuid

_NEGATIVE = re.compile(r"\b(wrong|fail(ed|s)?|broke|broken|dropped|error|not work|doesn'?t work|undo)\b", re.I)

#: The proposer's edit: plain prose within the demo skill's words, so the release guard publishes it.
SAFETY_STEP = (
    "## Before running a migration\n"
    "- Back up the database first and tell the user where the backup is.\n"
    "- Read the pending migrations before you run them, and ask the user to confirm any change that "
    "could lose data.\n"
    "- After the migration, check the tables and the row counts, and tell the user about any failure "
    "instead of claiming success."
)


def _arg(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1] if flag in argv and argv.index(flag) + 1 < len(argv) else ""


def answer(prompt: str, system: str) -> str:
    """The scripted reply text for one call."""
    if "you are lakeloop's judge" in system.lower():
        from .skillopt.prompts import prompt_data

        try:  # the excerpt is a JSON-quoted value of the prompt's data line (skillopt.prompts)
            text = str(prompt_data(prompt).get("session_excerpt", ""))
        except ValueError:
            text = prompt
        users = [line for line in text.splitlines() if line.startswith("USER:")]
        last = users[-1] if users else ""
        if _NEGATIVE.search(last):
            return json.dumps(
                {
                    "success": 0,
                    "confidence": 0.9,
                    "reason": "the user reports that the migration failed and data was lost",
                }
            )
        return json.dumps({"success": 1, "confidence": 0.8, "reason": "no complaint from the user"})
    return json.dumps({"edits": [{"op": "append", "text": SAFETY_STEP}]})


def main(argv: list[str] | None = None) -> int:
    """Answer one ``-p`` call on stdout."""
    argv = sys.argv[1:] if argv is None else argv
    prompt = sys.stdin.read()
    text = answer(prompt, _arg(argv, "--system-prompt"))
    print(
        json.dumps(
            {
                "type": "result",
                "subtype": "success",
                "is_error": False,
                "result": text,
                "session_id": str(uuid.uuid4()),
                "model": _arg(argv, "--model"),
                "lakeloop_scripted_stand_in": True,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
