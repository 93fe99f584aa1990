"""Rendering the dashboard's templates (``ui/templates``) with one Jinja2 environment:
autoescaping on for every file, undefined names an error, filters ``visible`` (stored text:
``textsafe.escape`` makes control and bidi characters visible) and ``local_time``. No template
and no Python code marks anything safe: escaping happens here, once."""

from __future__ import annotations

import datetime as _dt
import functools
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from .security import UiState, csrf_for

HERE = Path(__file__).parent

#: The header's links: (route name, label).
NAV: tuple[tuple[str, str], ...] = (
    ("overview", "Overview"),
    ("sessions", "Sessions"),
    ("skills", "Skills"),
    ("proposals", "Proposals"),
)


def local_time(value: str | None) -> str:
    """An ISO-8601 UTC text (``identity.utc_now``'s format) as local ``YYYY-MM-DD HH:MM``; the
    text itself when it does not parse; "" for None."""
    if not value:
        return ""
    try:
        when = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return when.astimezone().strftime("%Y-%m-%d %H:%M")


@functools.lru_cache(maxsize=1)
def environment() -> Any:
    """The Jinja2 environment: templates of ``ui/templates``, autoescape on for every file,
    ``StrictUndefined``, filters ``visible`` and ``local_time``."""
    import jinja2

    from ..textsafe import escape

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["visible"] = escape
    env.filters["local_time"] = local_time
    return env


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render template ``name`` with ``context`` plus ``nav``, ``current`` (the request's path),
    ``csrf`` (``csrf_for``) and ``url_for``; returns the HTML response with ``status``."""
    state: UiState = request.app.state.ui
    full = {
        "nav": [(request.url_for(n).path, label) for n, label in NAV],
        "current": request.url.path,
        "csrf": csrf_for(state),
        "url_for": request.url_for,
        **context,
    }
    return HTMLResponse(environment().get_template(name).render(full), status_code=status)
