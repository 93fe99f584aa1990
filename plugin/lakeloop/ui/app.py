"""The dashboard's ASGI application: the route table, the template environment and the error pages.

``create_app(state, runner=None, debug_routes=False)`` returns a Starlette app whose only
middleware is ``security.Guard`` (every request, static files included, passes it first).
Templates are rendered by ``render.render`` (autoescaping on for every file).

Routes (name: path):

* ``overview``: ``/`` (``pages.overview``)
* ``sessions``: ``/sessions``; ``session``: ``/sessions/view?path=…`` (``pages.sessions``)
* ``skills``: ``/skills``; ``skill``: ``/skills/{ref}`` (``pages.skills``)
* ``jobs``: ``/jobs?state=…`` (``pages.jobs``)
* ``proposals``: ``/proposals``; ``proposal_confirm``, ``proposal_accept``, ``proposal_reject``
  (``pages.proposals``)
* ``favicon``: ``/favicon.ico``; ``static``: ``/static/…`` (``ui/static``)

404 and 405 answer ``message.html`` with one sentence; an exception is answered by ``security.Guard`` (a plain
500 line, no traceback).
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from .data import StoreRunner
from .render import HERE, render
from .security import Guard, UiState

_MESSAGES = {
    404: "There is no such page.",
    405: "That method is not allowed here.",
}


async def _favicon(request: Request) -> Response:
    return FileResponse(HERE / "static" / "icon.png", media_type="image/png")


async def _http_error(request: Request, exc: Exception) -> Response:
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    title = {404: "Not found", 405: "Method not allowed"}.get(code, "Error")
    return render(request, "message.html", {"title": title, "message": _MESSAGES.get(code, "Refused.")}, code)


async def _boom(request: Request) -> Response:
    raise RuntimeError("a forced failure (debug route)")


async def _form(request: Request) -> Response:
    return PlainTextResponse("form accepted")


def create_app(state: UiState, runner: StoreRunner | None = None, debug_routes: bool = False) -> Starlette:
    """The application for ``state`` (port and secrets), reading the store through ``runner``
    (default: a new ``StoreRunner``). ``debug_routes`` adds ``/_debug/boom`` (GET, raises) and
    ``/_debug/form`` (POST, answers "form accepted") for the tests of the error page and the POST rules."""
    from .pages import jobs, overview, proposals, sessions, skills

    routes: list[Any] = [
        Route("/", overview.page, name="overview"),
        Route("/sessions", sessions.page, name="sessions"),
        Route("/sessions/view", sessions.view, name="session"),
        Route("/skills", skills.list_page, name="skills"),
        Route("/skills/{ref}", skills.skill_page, name="skill"),
        Route("/jobs", jobs.page, name="jobs"),
        Route("/proposals", proposals.page, name="proposals"),
        Route("/proposals/confirm", proposals.confirm, name="proposal_confirm"),
        Route("/proposals/accept", proposals.accept, methods=["POST"], name="proposal_accept"),
        Route("/proposals/reject", proposals.reject, methods=["POST"], name="proposal_reject"),
        Route("/favicon.ico", _favicon, name="favicon"),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    if debug_routes:
        routes += [Route("/_debug/boom", _boom), Route("/_debug/form", _form, methods=["POST"])]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Guard, state=state)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.ui = state
    app.state.runner = runner if runner is not None else StoreRunner()
    return app
