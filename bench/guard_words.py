"""Regenerate the release guard's base vocabulary, ``plugin/lakeloop/data/guard-words-en.txt``.

    python -m venv /tmp/wf && /tmp/wf/bin/pip install wordfreq==3.1.1
    /tmp/wf/bin/python bench/guard_words.py

Takes the 10,000 most frequent English words of wordfreq (not a dependency of lakeloop: the
list is generated once and shipped as data), keeps words of letters (with one inner
apostrophe), drops one-letter words but "a" and "i", and writes them sorted alphabetically
with a header naming the source and its licence (CC BY-SA 4.0).
"""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "plugin" / "lakeloop" / "data" / "guard-words-en.txt"
COUNT = 10_000


def main() -> None:
    """Write ``OUT``; prints the number of words kept."""
    from wordfreq import top_n_list

    version = importlib.metadata.version("wordfreq")
    words = sorted(
        {
            w
            for w in top_n_list("en", COUNT)
            if re.fullmatch(r"[a-z]+(?:'[a-z]+)?", w) and (len(w) > 1 or w in ("a", "i"))
        }
    )
    header = (
        f"# The {COUNT:,} most frequent English words (wordfreq {version}, top_n_list('en', {COUNT})), "
        "letters only,\n# sorted alphabetically. Word-frequency data (c) Robyn Speer, wordfreq, CC BY-SA 4.0.\n"
        "# The release guard's base vocabulary (lakeloop.skillopt.guard); "
        "regenerate with bench/guard_words.py.\n"
    )
    OUT.write_text(header + "".join(w + "\n" for w in words))
    print(f"{len(words)} words written to {OUT}")


if __name__ == "__main__":
    main()
