"""The read-only pages: topics, a topic's recent matches, an article's explanation, labels,
feed health; and the login form when a token protects them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from starlette.responses import RedirectResponse, Response

from pipeline import store
from pipeline.health import check_health
from pipeline.score import document_for, near_misses
from pipeline.store import labels, review
from pipeline.topics import Matcher, Topic, near_miss

from .access import SESSION_COOKIE, cookie_path, session_value, token_matches
from .render import get_site, path_for, render
from .site import Site

router = APIRouter()
login_router = APIRouter()
Days = Annotated[int, Query(ge=1, le=3650)]
# The windows offered on the near-misses page (it rescans every article published in it).
NEAR_MISS_WINDOWS = (7, 30, 365, 3650)


def topic_or_404(site: Site, topic_id: str) -> Topic:
    topic = site.topics.get(topic_id)
    if topic is None:
        raise HTTPException(404, f"no topic {topic_id!r} in the config")
    return topic


@router.get("/", name="topics")
def topics_page(request: Request, days: Days = 7) -> Response:
    site = get_site(request)
    since = datetime.now(UTC) - timedelta(days=days)
    activity = review.topic_activity(site.engine, since)
    return render(
        request,
        "topics.html",
        topics=list(site.topics.values()),
        activity=activity,
        days=days,
    )


@router.get("/topics/{topic_id}", name="topic")
def topic_page(request: Request, topic_id: str, days: Days = 7) -> Response:
    site = get_site(request)
    topic = topic_or_404(site, topic_id)
    since = datetime.now(UTC) - timedelta(days=days)
    matches = review.recent_matches(site.engine, topic.id, since)
    return render(
        request,
        "topic.html",
        topic=topic,
        matches=matches,
        labels=labels.labels_for(site.engine, topic.id, [m.article_id for m in matches]),
        mutes=labels.mutes_for(
            site.engine, topic.id, [m.story_id for m in matches if m.story_id is not None]
        ),
        days=days,
    )


@router.get("/topics/{topic_id}/near-misses", name="near_misses")
def near_misses_page(
    request: Request,
    topic_id: str,
    days: Days = 7,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    """What `newswatch topics near-misses TOPIC` lists: stored articles published in the
    window that the topic nearly caught, most promising first, with what was missing."""
    site = get_site(request)
    topic = topic_or_404(site, topic_id)
    found = near_misses(site.engine, topic, datetime.now(UTC) - timedelta(days=days))
    shown = found[:limit]
    return render(
        request,
        "near_misses.html",
        topic=topic,
        found=shown,
        total=len(found),
        labels=labels.labels_for(site.engine, topic.id, [f.article.id for f in shown]),
        days=days,
        windows=NEAR_MISS_WINDOWS,
    )


@router.get("/topics/{topic_id}/articles/{article_id}", name="explain")
def explain_page(request: Request, topic_id: str, article_id: int) -> Response:
    """The explanation `newswatch topics explain TOPIC --article ID` prints, as a page."""
    site = get_site(request)
    topic = topic_or_404(site, topic_id)
    article = store.get_article(site.engine, article_id)
    if article is None:
        raise HTTPException(404, f"no stored article with id {article_id}")
    story_id = labels.story_of(site.engine, article_id)
    document = document_for(site.engine, article)
    # A disabled topic is explained as if it were enabled, as its near misses are.
    match = Matcher([replace(topic, enabled=True)]).explain(topic.id, document)
    return render(
        request,
        "explain.html",
        topic=topic,
        article=article,
        match=match,
        near=None if match.passed else near_miss(topic, document),
        stored=review.stored_match(site.engine, topic.id, article_id),
        label=labels.labels_for(site.engine, topic.id, [article_id]).get(article_id),
        story_id=story_id,
        mute=labels.mutes_for(site.engine, topic.id, [story_id]).get(story_id)
        if story_id is not None
        else None,
    )


@router.get("/alerts/{alert_id}", name="alert")
def alert_page(request: Request, alert_id: int) -> Response:
    """Where "Open in newswatch" leads: the explanation of the alert's article."""
    subject = review.alert_subject(get_site(request).engine, alert_id)
    if subject is None:
        raise HTTPException(404, f"no alert {alert_id}")
    where = path_for(request, "explain", topic_id=subject[0], article_id=subject[1])
    return RedirectResponse(where, status_code=303)


@router.get("/labels", name="labels")
def labels_page(request: Request, topic: str | None = None) -> Response:
    site = get_site(request)
    lines = list(labels.label_lines(site.engine, topic_id=topic, limit=500))
    return render(request, "labels.html", lines=lines, topic=topic, topics=site.topics)


@router.get("/feeds", name="feeds")
def feeds_page(request: Request) -> Response:
    """Each configured feed's state by its own rhythm (pipeline.health), and its last fetch."""
    site = get_site(request)
    report = check_health(site.engine, site.config, record=False)
    stored = store.feed_health(site.engine, [f.name for f in site.config.feeds])
    return render(
        request,
        "feeds.html",
        feeds=report.feeds,
        stored={h.name: h for h in stored},
        silent=[p for p in report.problems if p.kind == "silent"],
    )


@login_router.get("/login", name="login_form")
def login_form(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", next=next, failed=False)


@login_router.post("/login", name="login")
def login(
    request: Request, token: Annotated[str, Form()], next: Annotated[str, Form()] = "/"
) -> Response:
    site = get_site(request)
    if not token_matches(site, token):
        return render(request, "login.html", 401, next=next, failed=True)
    response = RedirectResponse(safe_next(request, next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_value(token),
        httponly=True,
        samesite="strict",
        path=cookie_path(request),
        secure=request.url.scheme == "https",
    )
    return response


def safe_next(request: Request, target: str) -> str:
    """A redirect target on this site only: a path, not //elsewhere or a full URL."""
    root = request.scope.get("root_path", "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return root + "/"
    return target if root and target.startswith(root) else root + target
