"""Feed state: the configured feeds, their validators, schedule, health and fetch log."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, case, func, select, update

from ..config import FeedConfig
from ..records import Article, FeedSource
from .articles import insert_articles
from .database import insert_for
from .schema import FeedRow, FetchLogRow

FEEDS = FeedRow.__table__


@dataclass(frozen=True, slots=True)
class ScheduledFeed:
    source: FeedSource
    next_fetch_at: datetime | None

    def is_due(self, now: datetime) -> bool:
        return self.next_fetch_at is None or self.next_fetch_at <= now


@dataclass(frozen=True, slots=True)
class FetchRecord:
    """Everything one fetch attempt changes about its feed, written in one transaction."""

    source: FeedSource
    started_at: datetime
    status: str
    next_fetch_at: datetime
    http_status: int | None = None
    bytes: int | None = None
    duration_ms: int | None = None
    items_seen: int = 0
    error: str | None = None
    warning: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    moved_to: str | None = None
    title: str | None = None
    format: str | None = None
    body_hash: str | None = None  # of a 200's body: an identical body is no change

    @property
    def succeeded(self) -> bool:
        return self.status in ("ok", "not_modified")


@dataclass(frozen=True, slots=True)
class FeedHealth:
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
            connection.execute(
                insert_for(connection, FeedRow)
                .values(
                    [
                        {
                            "name": f.name,
                            "config_url": f.url,
                            "url": f.url,
                            "created_at": now,
                            "consecutive_failures": 0,
                        }
                        for f in feeds
                    ]
                )
                .on_conflict_do_nothing()
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


def record_fetch(
    engine: Engine, record: FetchRecord, articles: Sequence[Article] = ()
) -> list[int]:
    """Store the new articles, the feed's new state and a fetch-log row, atomically.

    One transaction matters: if the new ETag were saved without the articles, the next poll
    would get a 304 and those articles would be lost.
    """
    with engine.begin() as connection:
        new_ids = insert_articles(connection, articles) if articles else []
        values: dict[str, object] = {
            "last_fetch_at": record.started_at,
            "last_status": record.status,
            "last_http_status": record.http_status,
            "next_fetch_at": record.next_fetch_at,
        }
        if new_ids:
            values["last_new_at"] = record.started_at
        if record.succeeded:
            values.update(
                last_success_at=record.started_at,
                consecutive_failures=0,
                failing_since=None,
                last_error=None,
                etag=record.etag,
                last_modified=record.last_modified,
            )
            if record.status == "ok":
                values["last_warning"] = record.warning
            if record.body_hash is not None:
                values.update(
                    body_hash=record.body_hash,
                    body_changed_at=case(
                        (FeedRow.body_hash == record.body_hash, FeedRow.body_changed_at),
                        else_=record.started_at,
                    ),
                )
            if record.moved_to:
                values["url"] = record.moved_to
                if record.moved_to != record.source.url:
                    # The first move of an episode is kept: the config still names that URL.
                    values.update(
                        moved_from=func.coalesce(FeedRow.moved_from, record.source.url),
                        moved_at=func.coalesce(FeedRow.moved_at, record.started_at),
                    )
            if record.title is not None:
                values.update(title=record.title, format=record.format)
        else:
            values.update(
                consecutive_failures=FeedRow.consecutive_failures + 1,
                failing_since=func.coalesce(FeedRow.failing_since, record.started_at),
                last_error=record.error,
            )
        connection.execute(update(FeedRow).where(FeedRow.id == record.source.id).values(values))
        connection.execute(
            insert_for(connection, FetchLogRow).values(
                feed_id=record.source.id,
                started_at=record.started_at,
                url=record.source.url,
                status=record.status,
                http_status=record.http_status,
                bytes=record.bytes,
                duration_ms=record.duration_ms,
                items_seen=record.items_seen,
                items_new=len(new_ids),
                error=record.error,
                warning=record.warning,
            )
        )
    return new_ids


def feed_health(engine: Engine, names: Sequence[str] | None = None) -> list[FeedHealth]:
    # The stored count, kept by every insert: no scan of the articles table.
    query = select(FEEDS).order_by(FEEDS.c.name)
    if names is not None:
        query = query.where(FEEDS.c.name.in_(names))
    with engine.connect() as connection:
        return [
            FeedHealth(
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
