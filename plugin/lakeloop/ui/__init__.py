"""The local web dashboard that ``lakeloop ui`` serves on 127.0.0.1 (docs/ui.md).

Only ``cli/ui.py`` imports this package, and only when the command runs: its web libraries
(starlette, uvicorn, jinja2) never load on a hook path."""
