"""`POST /slack/interactions`: the buttons' clicks, verified, acknowledged at once, then acted on.

Slack wants an answer within three seconds, so the request is only verified (signature,
timestamp, replay) before the 200; recording the label and editing the message run after the
response has gone (a background task). Anything unverified gets 401 and changes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, BackgroundTasks, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response

from alerts.interactions import Click, handle_click, parse_click

from .render import get_site
from .site import Site

log = logging.getLogger(__name__)
router = APIRouter()


@router.post("/slack/interactions", name="slack_interactions")
async def slack_interactions(request: Request, background: BackgroundTasks) -> Response:
    body = await request.body()
    site = await run_in_threadpool(get_site, request)
    if site.slack_check is None:
        log.warning("refused a Slack request: no slack.signing_secret / SLACK_SIGNING_SECRET set")
        return PlainTextResponse("interactivity is not configured", status_code=401)
    now = datetime.now(UTC)
    headers = {k.lower(): v for k, v in request.headers.items()}
    problem = await run_in_threadpool(site.slack_check.problem, body, headers, now)
    if problem is not None:
        log.warning("refused a Slack request: %s", problem)
        return PlainTextResponse("invalid request", status_code=401)
    click = parse_click(body)
    if click is not None:
        background.add_task(_act, site, click, now)
    return Response(status_code=200)


def _act(site: Site, click: Click, now: datetime) -> None:
    # After the response: nobody is waiting, so a failure is logged, not raised.
    try:
        handle_click(site.engine, site.updater, click, now)
    except Exception:
        log.exception("could not record a %s click from Slack", click.action)
