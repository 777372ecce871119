"""The small typed records that pass between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FeedSource:
    """What the fetcher needs to know about one feed: where it is and what we saw last time."""

    id: int
    name: str
    url: str
    headers: tuple[tuple[str, str], ...] = ()
    etag: str | None = None
    last_modified: str | None = None
    poll_interval: float = 900.0
    consecutive_failures: int = 0
    # The URLs the operator configured for this feed (its URL, its backfill source): their
    # origins may be private addresses. Empty means `url` itself. See pipeline/network.py.
    configured_urls: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FetchedFeed:
    """A successful fetch. `body` is None when the server answered 304 Not Modified."""

    source: FeedSource
    body: bytes | None
    url: str
    headers: dict[str, str]
    http_status: int | None
    etag: str | None
    last_modified: str | None
    fetched_at: datetime
    duration_ms: int
    moved_to: str | None = None  # set when every redirect on the way was permanent

    @property
    def not_modified(self) -> bool:
        return self.body is None


@dataclass(frozen=True, slots=True)
class Article:
    """One news item as parsed from a feed, before it is stored."""

    feed_id: int
    guid: str
    url: str | None
    canonical_url: str | None
    title: str
    summary: str
    content: str
    author: str | None
    tags: tuple[str, ...]
    published_at: datetime
    published_at_missing: bool
    fetched_at: datetime
    content_hash: str
    origin: str = "live"


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """The articles recovered from one document, and the parser's complaint if it had one."""

    articles: list[Article]
    title: str | None = None
    format: str = ""
    warning: str | None = None
    # Feed-level links by relation ("prev-archive", "next", ...), absolute: for backfilling.
    links: dict[str, str] = field(default_factory=dict)
    parser: str = ""  # "fast", "feedparser" or "json": which reader read the document
    fallback: str | None = None  # why the fast path left an XML document to feedparser


@dataclass(slots=True)
class FeedReport:
    """What one feed's turn in a poll came to; the CLI and the DAGs summarise these."""

    feed_id: int
    feed_name: str
    status: str  # "ok", "not_modified" or a FetchError kind
    articles_seen: int = 0
    new_article_ids: list[int] = field(default_factory=list)
    error: str | None = None
    warning: str | None = None

    @property
    def failed(self) -> bool:
        return self.status not in ("ok", "not_modified")


@dataclass(frozen=True, slots=True)
class RawEntry:
    """An entry as a feed format reader found it (markup still in), before cleaning.

    Both readers (feedparser for XML, ours for JSON Feed) produce these, so cleaning and the
    GUID/date rules live in one place.
    """

    guid: str | None
    link: str | None
    title: str
    summary: str
    content: str
    author: str | None
    tags: tuple[str, ...]
    published_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoredArticle:
    """An article as read back from the database, with its feed's name."""

    id: int
    feed_id: int
    feed_name: str
    title: str
    url: str | None
    summary: str
    content: str
    published_at: datetime
    fetched_at: datetime


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """An article that passed a topic: what `topic_matches` stores and alerts are made from."""

    article_id: int
    topic_id: str
    score: float
    explanation: dict[str, object]
