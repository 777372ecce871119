"""The queries feed health needs: bounded, indexed reads per feed and per topic, never a scan
of the articles. A feed's rhythm comes from its latest publication times (index on feed_id,
published_at); a topic's from its latest matches (index on topic_id, matched_at)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, bindparam, select, update

from .database import insert_for
from .schema import ArticleRow, FeedRow, TopicMatchRow, TopicQueryRow

# Publication times before this are parsing accidents (the epoch, year 1), not history.
EARLIEST_SENSIBLE = datetime(1995, 1, 1, tzinfo=UTC)

FEEDS = FeedRow.__table__
ARTICLES = ArticleRow.__table__
MATCHES = TopicMatchRow.__table__
QUERIES = TopicQueryRow.__table__


@dataclass(frozen=True, slots=True)
class FeedState:
    """A feed's stored state, as health judges it."""

    id: int
    name: str
    url: str
    config_url: str
    last_status: str | None
    last_http_status: int | None
    last_error: str | None
    consecutive_failures: int
    failing_since: datetime | None
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    last_new_at: datetime | None
    body_changed_at: datetime | None
    moved_from: str | None
    moved_at: datetime | None


@dataclass(frozen=True, slots=True)
class RecentMatch:
    """One of a topic's latest matches: when its article was published, and by which feed."""

    matched_at: datetime
    published_at: datetime
    feed_id: int


def feed_states(connection: Connection, names: Sequence[str]) -> list[FeedState]:
    columns = [FEEDS.c[field.name] for field in fields(FeedState)]
    query = select(*columns).where(FEEDS.c.name.in_(names)).order_by(FEEDS.c.name)
    return [FeedState(*row) for row in connection.execute(query)]


def publication_times(
    connection: Connection, feed_ids: Sequence[int], now: datetime, limit: int
) -> dict[int, list[datetime]]:
    """Each feed's latest distinct publication times up to `now`, newest first: one small
    index range per feed. Where the feed gave no date (or one in the future), parsing stored
    the time it was first seen, so these are publication-or-first-seen times already."""
    query = (
        select(ARTICLES.c.published_at)
        .where(
            ARTICLES.c.feed_id == bindparam("feed"),
            ARTICLES.c.published_at <= now,
            ARTICLES.c.published_at >= EARLIEST_SENSIBLE,
        )
        .distinct()
        .order_by(ARTICLES.c.published_at.desc())
        .limit(limit)
    )
    return {feed: list(connection.execute(query, {"feed": feed}).scalars()) for feed in feed_ids}


def recent_matches(
    connection: Connection, topic_ids: Sequence[str], limit: int
) -> dict[str, list[RecentMatch]]:
    """Each topic's latest matches, most recently matched first."""
    query = (
        select(MATCHES.c.matched_at, ARTICLES.c.published_at, ARTICLES.c.feed_id)
        .join(ARTICLES, ARTICLES.c.id == MATCHES.c.article_id)
        .where(MATCHES.c.topic_id == bindparam("topic"))
        .order_by(MATCHES.c.matched_at.desc(), MATCHES.c.id.desc())
        .limit(limit)
    )
    return {
        topic: [RecentMatch(*row) for row in connection.execute(query, {"topic": topic})]
        for topic in topic_ids
    }


def remember_queries(
    engine: Engine, fingerprints: Mapping[str, str], now: datetime, *, write: bool = True
) -> dict[str, datetime | None]:
    """Store each topic's query fingerprint; a changed one is stamped `now`. Returns when each
    topic's query last changed (None: unchanged since first recorded). Without `write`, a
    change is reported as of `now` but not stored (a read-only page looking)."""
    with engine.begin() as connection:
        stored = {
            topic: (fingerprint, changed_at)
            for topic, fingerprint, changed_at in connection.execute(
                select(QUERIES).where(QUERIES.c.topic_id.in_(list(fingerprints)))
            )
        }
        new = [
            {"topic_id": t, "fingerprint": f} for t, f in fingerprints.items() if t not in stored
        ]
        if new and write:
            connection.execute(insert_for(connection, QUERIES).values(new).on_conflict_do_nothing())
        changed = [t for t, f in fingerprints.items() if t in stored and stored[t][0] != f]
        for topic in changed if write else ():
            connection.execute(
                update(QUERIES)
                .where(QUERIES.c.topic_id == topic)
                .values(fingerprint=fingerprints[topic], changed_at=now)
            )
    return {
        topic: now if topic in changed else stored.get(topic, (None, None))[1]
        for topic in fingerprints
    }
