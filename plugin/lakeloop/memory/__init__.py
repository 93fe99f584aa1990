"""The memory path: the team's memory as a virtual, read-only file tree.

``~/.deeplake/memory`` (``LAKELOOP_MEMORY_PATH``) does not exist on disk: the
PreToolUse hook answers the agent's Read, Grep, Glob and Bash calls on it from the
store in use, with one store query per tool call. Layout (shared with other
Deeplake clients of the same tables)::

    /index.md                                              generated: latest sessions, team skills
    /sessions/<user>/<user>_<org>_<workspace>_<sid>.jsonl  one captured event (message JSON) per line
    /skills/<name>--<author>/SKILL.md                      current version of every team skill
    /<any other path>                                      memory table rows (notes, summaries)

Modules: ``paths`` (memory root, virtual path normalisation), ``prefilter`` (the import-light
byte test every PreToolUse hook runs first: might this payload touch the memory path or a guarded
path beside it?), ``bash`` (the Bash command package: ``bash.scan`` the cheap test,
``bash.parser`` with ``bash.lexer`` and ``bash.options`` the parser, ``bash.runner`` runs a parsed
pipeline on a tree, ``bash.syntax`` their shared types), ``reach`` (Bash commands that reach
lakeloop's credentials without naming them: tree walks from home or above, names computed at run
time next to home), ``grep`` (GNU grep semantics) and ``grep_pattern`` (its pattern front end,
entered through ``compile_pattern``), ``tree`` (the virtual tree built from one query's records),
``notes`` (writes to the memory table, read-your-writes, and the purge ``lakeloop forget`` runs),
``answer`` (the PreToolUse decisions). What they refuse derives from
``lakeloop.errors.MemoryRefused``.
"""
