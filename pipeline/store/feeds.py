"""Feed state: the configured feeds, their validators, schedule and health (what each fetch
changes is written by `fetches`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update

from ..config import FeedConfig
from ..records import FeedSource
from .database import insert_for
from .schema import FeedRow

FEEDS = FeedRow.__table__


@dataclass(frozen=True, slots=True)
class ScheduledFeed:
    source: FeedSource
    next_fetch_at: datetime | None

    def is_due(self, now: datetime) -> bool:
        return self.next_fetch_at is None or self.next_fetch_at <= now


@dataclass(frozen=True, slots=True)
class FeedHealthRow:
    """One feed's row as `feed_health` reads it: its last fetch and article count, shown beside
    pipeline.health's judgement (`newswatch feeds`, the web feeds page)."""

    name: str
    url: str
    last_status: str | None
    last_http_status: int | None
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    consecutive_failures: int
    next_fetch_at: datetime | None
    last_error: str | None
    last_warning: str | None
    articles: int


def sync_feeds(engine: Engine, feeds: Sequence[FeedConfig], now: datetime) -> list[ScheduledFeed]:
    """Make the feeds table match the config and return the configured feeds' state.

    A feed is known by its name. When its configured URL changes, the stored URL (which a
    permanent redirect may have moved) and validators are reset to the new one.
    """
    with engine.begin() as connection:
        if feeds:
            # Executemany of one cached statement, not one statement with a VALUES row per
            # feed compiled afresh on every poll (a second's work at 5,000 feeds).
            connection.execute(
                insert_for(connection, FeedRow).on_conflict_do_nothing(),
                [
                    {
                        "name": f.name,
                        "config_url": f.url,
                        "url": f.url,
                        "created_at": now,
                        "consecutive_failures": 0,
                    }
                    for f in feeds
                ],
            )
        rows = {
            row.name: row._asdict()
            for row in connection.execute(
                select(FEEDS).where(FEEDS.c.name.in_([f.name for f in feeds]))
            )
        }
        scheduled = []
        for feed in feeds:
            row = rows[feed.name]
            if row["config_url"] != feed.url:
                reset = {
                    "config_url": feed.url,
                    "url": feed.url,
                    "etag": None,
                    "last_modified": None,
                    "next_fetch_at": None,
                    "moved_from": None,
                    "moved_at": None,
                }
                connection.execute(update(FEEDS).where(FEEDS.c.id == row["id"]).values(reset))
                row.update(reset)
            source = FeedSource(
                id=row["id"],
                name=feed.name,
                url=row["url"],
                headers=tuple(feed.headers.items()),
                etag=row["etag"],
                last_modified=row["last_modified"],
                poll_interval=feed.poll_interval,
                consecutive_failures=row["consecutive_failures"],
                configured_urls=_configured_urls(feed),
            )
            scheduled.append(ScheduledFeed(source, row["next_fetch_at"]))
        return scheduled


def _configured_urls(feed: FeedConfig) -> tuple[str, ...]:
    backfill_url = feed.backfill.url if feed.backfill is not None else None
    return (feed.url, backfill_url) if backfill_url else (feed.url,)


def feed_health(engine: Engine, names: Sequence[str] | None = None) -> list[FeedHealthRow]:
    # The stored count, kept by every insert: no scan of the articles table.
    query = select(FEEDS).order_by(FEEDS.c.name)
    if names is not None:
        query = query.where(FEEDS.c.name.in_(names))
    with engine.connect() as connection:
        return [
            FeedHealthRow(
                name=row.name,
                url=row.url,
                last_status=row.last_status,
                last_http_status=row.last_http_status,
                last_fetch_at=row.last_fetch_at,
                last_success_at=row.last_success_at,
                consecutive_failures=row.consecutive_failures,
                next_fetch_at=row.next_fetch_at,
                last_error=row.last_error,
                last_warning=row.last_warning,
                articles=row.article_count,
            )
            for row in connection.execute(query)
        ]
