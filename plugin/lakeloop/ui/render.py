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


def visible(value: Any) -> str:
    """Stored text for a template: ``textsafe.escape`` of ``value`` (control and bidi characters
    shown as escapes), ``""`` for None, any other value as its ``str`` (then escaped; a value
    that cannot be printed, such as an int of more than 4,300 digits or a structure nested too
    deep, as ``(<type name>)``). Always a plain ``str`` (never a ``Markup``). Never raises."""
    from ..textsafe import escape

    if value is None:
        return ""
    if type(value) is not str:
        try:
            value = str.__str__(value) if isinstance(value, str) else str(value)
        except (ValueError, TypeError, RecursionError):
            return f"({type(value).__name__})"
        if type(value) is not str:  # a __str__ that answered a str subclass
            value = "".join(value)
    return escape(value)


def local_time(value: Any) -> str:
    """An ISO-8601 UTC text (``identity.utc_now``'s format) as local ``YYYY-MM-DD HH:MM``; the
    text itself (as ``visible``, escaped) when it does not parse or is out of range in local time;
    "" for None or ``""``. Never raises."""
    if not value:
        return ""
    if not isinstance(value, str):
        return visible(value)
    try:
        when = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return when.astimezone().strftime("%Y-%m-%d %H:%M")
    except (ValueError, OverflowError):  # not a time; or 0001-01-01 / 9999-12-31 moved out of range
        return visible(value)


@functools.lru_cache(maxsize=1)
def environment() -> Any:
    """The Jinja2 environment: templates of ``ui/templates``, autoescape on for every file,
    ``StrictUndefined``, filters ``visible`` and ``local_time``."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["visible"] = visible
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
