"""The jobs a scheduler runs, each self-contained: give it the config path and the database URL,
it opens what it needs, does one thing, and returns a JSON-able summary (Airflow passes these
between tasks as XCom). The Airflow DAGs in dags/ call these and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine

from alerts.destinations import alert_setup

from . import store
from .backfill import backfill
from .config import Config, compile_topics, load_config
from .config import database_url as resolve_database_url
from .errors import NewswatchError
from .fetch import FetchLimits, fetch_one
from .poll import due_feeds, ingest
from .score import score_with


class FeedFailed(NewswatchError):
    """One feed's fetch failed (and was recorded); raised so its task fails and is retried."""


@contextmanager
def opened(config_path: str | None, database_url: str | None) -> Iterator[tuple[Config, Engine]]:
    config = load_config(config_path).config
    engine = store.open_database(resolve_database_url(config, database_url))
    try:
        yield config, engine
    finally:
        engine.dispose()


def list_due_feeds(config_path: str | None, database_url: str | None) -> list[dict[str, Any]]:
    """The feeds due now, as {"id", "name", "url"}: one mapped fetch task each."""
    with opened(config_path, database_url) as (config, engine):
        sources, _ = due_feeds(engine, config)
    return [{"id": s.id, "name": s.name, "url": s.url} for s in sources]


def poll_feed(config_path: str | None, database_url: str | None, name: str) -> dict[str, Any]:
    """Fetch, parse and store one feed; raises FeedFailed (after recording it) on failure."""
    with opened(config_path, database_url) as (config, engine):
        sources, _ = due_feeds(engine, config, names=[name], force=True)
        source = sources[0]
        report = ingest(
            engine, source, fetch_one(source, FetchLimits.from_config(config.fetch)), config.fetch
        )
    if report.failed:
        raise FeedFailed(f"feed {name!r} failed ({report.status}): {report.error}")
    return asdict(report)


def summarise_poll(reports: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "feeds": len(reports),
        "articles_seen": sum(r["articles_seen"] for r in reports),
        "new_articles": sum(len(r["new_article_ids"]) for r in reports),
    }


def score_and_alert(
    config_path: str | None,
    database_url: str | None,
    *,
    slack_client: WebClient | None = None,
) -> dict[str, Any]:
    """Score what is new and drain the outbox (backfilled matches follow backfill.alerts)."""
    with opened(config_path, database_url) as (config, engine):
        setup = alert_setup(config, compile_topics(config), slack_client=slack_client)
        scored = score_with(engine, config)
        report = setup.drain(engine)
    return {
        "articles_scored": scored.articles,
        "new_matches": scored.new_matches,
        "sent": report.sent,
        "digests": report.digests,
        "reconciled": report.reconciled,
        "retrying": report.retrying,
        "failed": report.failed,
        "errors": report.errors,
    }


def backfill_window(
    config_path: str | None, database_url: str | None, start: datetime, end: datetime
) -> dict[str, Any]:
    """Store the window's history from every feed's backfill source."""
    with opened(config_path, database_url) as (config, engine):
        reports = backfill(engine, config, start.astimezone(UTC), end.astimezone(UTC))
    return {
        "window": [start.isoformat(), end.isoformat()],
        "new_articles": sum(len(r.new_article_ids) for r in reports),
        "feeds": [
            {
                "feed": r.feed_name,
                "documents": r.documents,
                "in_window": r.in_window,
                "new": len(r.new_article_ids),
                "reached_start": r.reached_start,
                "errors": r.errors,
            }
            for r in reports
        ],
    }
