"""The memory path's Bash parser and runner: a command aimed at the memory path is understood
fully and run on the virtual tree, or refused; it never reaches the host shell unparsed.

Modules, each importing only the ones above it in this list (never the other way round)::

    syntax   shared types: CommandRefused, Stage, Write, Script, the parse context Ctx
    scan     touches_memory: the cheap, conservative test run on every Bash call that the
             PreToolUse prefilter lets through (syntax only)
    lexer    POSIX-sh-like words, ``|``, ``>``, ``>>`` and heredocs
    options  per-command option parsing (GNU getopt_long) into a Stage
    parser   parse: the whole command into a Script, or CommandRefused
    runner   plan (the one store query a Script needs) and run (the Script on the tree)

``lakeloop.memory.answer`` calls ``scan.touches_memory``, then ``parser.parse``, then
``runner.plan`` and ``runner.run``. This file imports nothing: each caller imports the module it
needs, so the cheap test costs ``syntax`` and ``scan`` only.
"""
