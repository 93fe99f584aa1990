"""Bash commands that reach lakeloop's credentials file, or create the memory root, without naming
either: the corpus shared by the credentials guard tests (played through the real hook) and the
prefilter tests (each must reach the full check). ``{home}``, ``{tmp}`` and ``{project}`` in a
command are filled in by the test that runs it (``{tmp}`` is the home directory's parent).

* ``UNNAMED_READS``: reads of ``~/.deeplake/credentials.json`` through a walk from the home
  directory or above, or names computed at run time next to it.
* ``UNNAMED_ROOT``: walks from ``/`` itself (never run on a pass-through: they read the whole disk).
* ``UNNAMED_WRITES``: creations of the memory root through names computed at run time.
"""

from __future__ import annotations

B64_CREDS = "LmRlZXBsYWtlL2NyZWRlbnRpYWxzLmpzb24="  # base64 of .deeplake/credentials.json
B64_NOTES = "LmRlZXBsYWtlL21lbW9yeS9ub3Rlcw=="  # base64 of .deeplake/memory/notes
CHR_CREDS = "os.path.expanduser('~/.'+chr(100)+'eeplake/cre'+'dentials.json')"
#: Bash commands that reach ~/.deeplake/credentials.json without naming it: a tree walk from the home
#: directory or above (any spelling; also after a `cd`), or names computed at run time (xargs,
#: -exec, substitutions, interpreters) next to the home directory. `{tmp}` is the home's parent.
UNNAMED_READS = [
    # from the report
    "grep -r token ~",
    "grep -r token $HOME",
    "cd && grep -r token .",
    "find ~ -name 'cred*.json' -exec cat {} +",
    f"cd && echo {B64_CREDS} | base64 -d | xargs cat",
    "echo nosj.slaitnederc/ekalpeed. | rev | (cd; xargs cat)",
    "cd && ls -a | grep dee | xargs -I D cat D/credentials.json",
    f'python3 -c "import os;print(open({CHR_CREDS}).read())"',
    "grep -rh orgId ~",
    "grep -r token {tmp}",
    "cd .. && grep -r token .",
    "find ~ -name cred\\*.json -exec cat {} \\;",
    "find ~ -type f -name 'c*s.json' | xargs cat",
    "cd; find . -name 'cred*' | xargs cat",
    "tar cf - -C ~ . | tar xOf - --wildcards '*cred*'",
    "cd && ls -a | grep dee | xargs -I D find D -name 'c*' -exec cat {} +",
    "cd && ls -A | sed -n /dee/p | xargs -I@ cat @/credentials.json",
    "cd && ls -A | grep lake | sed s,$,/credentials.json, | xargs cat",
    "rg -uu token ~",
    "git grep --no-index token ~",
    "cd ~; zip -r - . | funzip",
    "cd; du -a | grep cred",
    # other spellings of the home directory and its parents
    "grep -r token ~/",
    "grep -r token ~/.",
    "grep -r token ${HOME}",
    'grep -r token "$HOME"/',
    "grep -R token {home}",
    "grep --recursive token {tmp}/./home",
    "grep -d recurse token {tmp}//home",
    "grep -r token {home}/..",
    "grep -r token {tmp}/*",
    "grep -r token ${PWD%/*}",
    "grep -r token $(dirname $PWD)",
    "H=~; grep -r token $H",
    "pushd ~ >/dev/null && grep -r token .",
    "(cd ~/ && grep -r token)",
    "ls -R ~",
    "tree -a ~",
    "cp -r ~ {tmp}/copy",
    "rsync -a ~/ {tmp}/copy2/",
    # names computed at run time, at or naming home
    'cd; cat "$(ls -a | grep dee)/credentials.json"',
    "cd && for d in $(ls -A | grep dee); do cat $d/credentials.json; done",
    'cd && ls -A | grep dee | while read d; do cat "$d/credentials.json"; done',
    f"bash -c 'cd; echo {B64_CREDS} | base64 -d | xargs cat'",
    f"eval 'cd; echo {B64_CREDS} | base64 -d | xargs cat'",
    f"echo {B64_CREDS} | base64 -d | xargs -I@ cat ~/@",
    f"python3 - <<'EOF'\nimport os\nprint(open({CHR_CREDS}).read())\nEOF",
    "python3 -c \"import pathlib;print((pathlib.Path.home()/('.'+chr(100)+'eeplake')/'credentials.json')"
    '.read_text())"',
    "python3 -c \"import os;print(open(os.environ['HOME']+'/.'+chr(100)+'eeplake/credentials.json').read())\"",
    "perl -e 'print for map { `cat $_` } glob(\"$ENV{HOME}/.d*/c*.json\")'",
    "awk 1 $(find ~ -name 'c*s.json')",
    # the parent directory (the home directory's parent here) spelled otherwise, or reached by a wrapper
    "grep -r token $'\\x2e\\x2e'",
    "grep -r token /proc/self/cwd/..",
    "env -C .. grep -r token .",
    "env -S 'grep -r token ..'",
    "timeout -s KILL 5 grep -r token ..",
    'for d in .. ; do grep -r token "$d"; done',
    "printf '%s\\0' .. | xargs -0 grep -r token",
]
#: Rooted at `/` itself: never run on a pass-through (it would read the whole disk).
UNNAMED_ROOT = [
    "grep -r token /",
    "grep -r token //",
    "grep -r token /./",
    "find / -name 'cred*.json' -exec cat {} +",
    "cd / && grep -r token .",
    "grep -r token /*",
]

#: Commands that would create the memory root through names computed at run time.
UNNAMED_WRITES = [
    f"cd && echo {B64_NOTES} | base64 -d | xargs mkdir -p",
    "cd && ls -A | grep lake | sed s,$,/memory, | xargs mkdir",
    "cd && ls -A | grep lake | xargs -I@ ln -s /tmp @/memory",
    "cd && ls -A | grep lake | xargs -I@ touch @/memory",
    "echo yrome/ekalpeed. | rev | (cd; xargs mkdir -p)",
    "python3 -c \"import os;os.makedirs(os.path.expanduser('~/.'+chr(100)+'eeplake/mem'+'ory/notes'))\"",
    "cd && tar xf /dev/null && ls -A | grep lake | xargs -I@ cp -r /etc/hostname @/memory",
    'cd && mkdir -p "$(ls -A | grep lake)/memory"',
]
