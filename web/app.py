"""The FastAPI app: pages, label and mute forms, login, and `POST /slack/interactions`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from pipeline.errors import NewswatchError

from . import changes, pages, slack
from .access import signed_in
from .render import get_site, path_for, render
from .site import Site

# No scripts at all; forms post only here; framed only by the same origin (Airflow's UI).
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def require_login(request: Request) -> None:
    """With a token configured, pages need it: GETs go to the login form, writes get 401."""
    if signed_in(get_site(request), request):
        return
    if request.method == "GET":
        where = path_for(request, "login_form") + f"?next={quote(request.url.path)}"
        raise HTTPException(303, "sign in first", headers={"Location": where})
    raise HTTPException(401, "sign in first")


def create_app(
    site: Site | Callable[[], Site], *, page_dependencies: Sequence[Any] = ()
) -> FastAPI:
    """The app over a Site (or a function opening one on first use). `page_dependencies`
    guard the pages and forms (the Airflow plugin passes Airflow's authentication); the Slack
    endpoint is never behind them: Slack's signature is its authentication."""
    app = FastAPI(title="newswatch", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.site = site if isinstance(site, Site) else None
    app.state.open_site = site if callable(site) and not isinstance(site, Site) else None
    guarded = [Depends(require_login), *page_dependencies]
    app.include_router(pages.login_router)
    app.include_router(pages.router, dependencies=guarded)
    app.include_router(changes.router, dependencies=guarded)
    app.include_router(slack.router)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Callable[..., Any]) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if 300 <= error.status_code < 400:
            return Response(status_code=error.status_code, headers=error.headers)
        response = render(request, "error.html", error.status_code, message=error.detail)
        response.headers.update(error.headers or {})
        return response

    @app.exception_handler(RequestValidationError)
    async def bad_parameter(request: Request, error: RequestValidationError) -> Response:
        # `?days=abc` typed into the address bar: a page that says which, not pydantic's JSON.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'request'}: {e['msg']}"
            for e in error.errors()
        )
        return render(request, "error.html", 422, message=problems)

    @app.exception_handler(NewswatchError)
    async def newswatch_error(request: Request, error: NewswatchError) -> Response:
        # A config or database problem: say which, as the command line would.
        return render(request, "error.html", 503, message=str(error))

    return app
