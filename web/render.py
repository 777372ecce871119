"""Shared by the routes: the Site for a request, paths under wherever the app is mounted, and
server-rendered pages (Jinja2, autoescaped; no JavaScript)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from .access import csrf_token, set_cookies
from .site import Site

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
_opening = threading.Lock()


def get_site(request: Request) -> Site:
    """The app's Site, opened on first use (the Airflow plugin cannot open it at import)."""
    state = request.app.state
    if state.site is None:
        with _opening:
            if state.site is None:
                state.site = state.open_site()
    return state.site


def path_for(request: Request, name: str, **params: Any) -> str:
    """A path to a route, under the prefix the app is mounted at (e.g. /newswatch in Airflow)."""
    root = request.scope.get("root_path", "")
    return root + str(request.app.url_path_for(name, **{k: str(v) for k, v in params.items()}))


def ago(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    seconds = (datetime.now(UTC) - moment).total_seconds()
    size, unit = abs(seconds), "s"
    for step, name in ((86400, "d"), (3600, "h"), (60, "m")):
        if size >= step:
            size, unit = size / step, name
            break
    return f"{size:.0f}{unit} ago" if seconds >= 0 else f"in {size:.0f}{unit}"


templates.env.globals["ago"] = ago  # macros imported by the pages see globals, not the context
templates.env.globals["zip"] = zip  # an explanation's mentions: words, offsets and weights


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    context.update(
        path=lambda name, **params: path_for(request, name, **params),
        csrf=csrf_token(request),
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    )
    response = templates.TemplateResponse(request, template, context, status_code=status_code)
    set_cookies(request, response)
    return response
