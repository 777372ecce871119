"""The database: SQLAlchemy models, connection and migrations, and the queries each stage needs.

Only this package and the alert outbox touch the database.
"""

from .articles import insert_articles, store_articles
from .database import (
    connect,
    current_revision,
    downgrade,
    ensure_schema,
    head_revision,
    open_database,
    upgrade,
)
from .feeds import FeedHealthRow, ScheduledFeed, feed_health, sync_feeds
from .fetches import FetchRecord, record_fetch, record_fetches
from .matches import get_article

__all__ = [
    "FeedHealthRow",
    "FetchRecord",
    "ScheduledFeed",
    "connect",
    "current_revision",
    "downgrade",
    "ensure_schema",
    "feed_health",
    "get_article",
    "head_revision",
    "insert_articles",
    "open_database",
    "record_fetch",
    "record_fetches",
    "store_articles",
    "sync_feeds",
    "upgrade",
]
