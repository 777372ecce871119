"""Feeds with a regular rhythm, served over real HTTP, for the health tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from xml.sax.saxutils import escape

from sqlalchemy import Engine, select

from pipeline.config import Config, FeedConfig, HealthConfig
from pipeline.store.schema import FeedRow, FetchLogRow

HOUR, DAY, WEEK = timedelta(hours=1), timedelta(days=1), timedelta(weeks=1)


def latest_publication() -> datetime:
    """Ten minutes ago, to the minute: the last item of every generated feed."""
    return (datetime.now(UTC) - timedelta(minutes=10)).replace(second=0, microsecond=0)


def rss(
    name: str, last: datetime, gap: timedelta, items: int, words: str = "council budget"
) -> bytes:
    """An RSS 2.0 document of `items` items `gap` apart, the newest published at `last`."""
    return document(name, [(last - gap * n, words) for n in range(items)])


def document(name: str, items: list[tuple[datetime, str]]) -> bytes:
    """An RSS 2.0 document of items (published at, words), newest first."""
    entries = [
        f"<item><guid>{name}-{published:%Y%m%d%H%M}</guid>"
        f"<title>{escape(name)} item {n}: {words}</title>"
        f"<link>https://{name}.example/{n}</link>"
        f"<description>Item {n} about the {words}.</description>"
        f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate></item>"
        for n, (published, words) in enumerate(items)
    ]
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{escape(name)}</title>'
        f"<link>https://{name}.example/</link><description>d</description>"
        f"{''.join(entries)}</channel></rss>"
    ).encode()


def config_with(
    feeds: list[FeedConfig], topics: list[dict[str, object]] = (), **health: object
) -> Config:
    return Config.model_validate(
        {
            "feeds": [f.model_dump() for f in feeds],
            "topics": list(topics),
            "health": HealthConfig(**health).model_dump(),
        }
    )


def fetch_times(engine: Engine, name: str, status: str | None = None) -> list[datetime]:
    """When the feed was fetched (with that outcome), oldest first."""
    query = (
        select(FetchLogRow.started_at)
        .join(FeedRow, FeedRow.id == FetchLogRow.feed_id)
        .where(FeedRow.name == name)
        .order_by(FetchLogRow.id)
    )
    if status is not None:
        query = query.where(FetchLogRow.status == status)
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())
