"""Who may see the pages and change labels, and who they are.

- A token (`web.token` / NEWSWATCH_WEB_TOKEN), when set, is needed for every page: as
  `Authorization: Bearer ...` or through the login form, which sets a cookie derived from it.
  Without one, anyone who can reach the server can read the pages and give labels, which is
  why `newswatch serve` binds to 127.0.0.1 unless told otherwise.
- Inside Airflow the plugin adds Airflow's own authentication in front of the pages instead.
- Writes (labels, mutes) also need the CSRF token: a random value in a SameSite=Strict cookie
  that the form must echo, so another site cannot make a reader's browser post a label.
- `/slack/interactions` is outside all of this: Slack's signature is its authentication.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from starlette.responses import Response

from pipeline.store.labels import Reviewer

from .site import Site

SESSION_COOKIE = "newswatch_session"
CSRF_COOKIE = "newswatch_csrf"


def session_value(token: str) -> str:
    """The login cookie: derived from the token, so it works on every worker and changing the
    token logs everyone out; the token itself never goes into a cookie."""
    return hmac.new(token.encode(), b"newswatch web session", hashlib.sha256).hexdigest()


def signed_in(site: Site, request: Request) -> bool:
    if site.token is None:
        return True
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer ") and hmac.compare_digest(
        header[7:].strip().encode(), site.token.encode()
    ):
        return True
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return hmac.compare_digest(cookie.encode(), session_value(site.token).encode())


def token_matches(site: Site, given: str) -> bool:
    return site.token is not None and hmac.compare_digest(given.encode(), site.token.encode())


def csrf_token(request: Request) -> str:
    """The reader's CSRF token (made on their first page view)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = request.state.new_csrf = secrets.token_urlsafe(24)
    return token


def set_cookies(request: Request, response: Response) -> None:
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(
            CSRF_COOKIE, new, httponly=True, samesite="strict", path=cookie_path(request)
        )


def cookie_path(request: Request) -> str:
    return request.scope.get("root_path", "") or "/"


def check_write(request: Request, form_token: str) -> None:
    """Refuse a write from another site: the CSRF cookie and the form must agree, and an
    Origin header, when sent, must be this host."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), form_token.encode()):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise HTTPException(403, "cross-site request refused")


def reviewer(site: Site, request: Request) -> Reviewer:
    """Who is labelling: Airflow's user inside Airflow, the auth proxy's header when one is
    configured, else "web"."""
    name = getattr(request.state, "newswatch_user", None)
    if not name and site.user_header:
        name = request.headers.get(site.user_header)
    return Reviewer((name or "web").strip()[:200] or "web", "web")
