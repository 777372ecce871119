"""The only writes the pages make: a label on (topic, article), a story muted or unmuted."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Form, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from pipeline.store import labels

from .access import check_write, reviewer
from .pages import safe_next, topic_or_404
from .render import get_site

router = APIRouter()


@router.post("/labels", name="set_label")
def set_label(
    request: Request,
    topic_id: Annotated[str, Form()],
    article_id: Annotated[int, Form()],
    label: Annotated[Literal["relevant", "not_relevant"], Form()],
    csrf: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    check_write(request, csrf)
    site = get_site(request)
    topic_or_404(site, topic_id)
    try:
        labels.set_label(
            site.engine, topic_id, article_id, label, reviewer(site, request), datetime.now(UTC)
        )
    except labels.LabelError as error:
        raise HTTPException(404, str(error)) from None
    return RedirectResponse(safe_next(request, next), status_code=303)


@router.post("/mutes", name="set_mute")
def set_mute(
    request: Request,
    topic_id: Annotated[str, Form()],
    story_id: Annotated[int, Form()],
    action: Annotated[Literal["mute", "unmute"], Form()],
    csrf: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    check_write(request, csrf)
    site = get_site(request)
    topic_or_404(site, topic_id)
    if action == "mute":
        try:
            labels.mute_story(
                site.engine, topic_id, story_id, reviewer(site, request), datetime.now(UTC)
            )
        except labels.LabelError as error:
            raise HTTPException(404, str(error)) from None
    else:
        labels.unmute_story(site.engine, topic_id, story_id)
    return RedirectResponse(safe_next(request, next), status_code=303)
