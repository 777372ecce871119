"""Storing articles: batched, idempotent inserts."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import fields

from sqlalchemy import Connection, Engine, bindparam, update

from ..records import Article
from .database import insert_for
from .schema import ArticleRow, FeedRow

BATCH_SIZE = 500
ARTICLES = ArticleRow.__table__
ARTICLE_FIELDS = tuple(f.name for f in fields(Article))


def insert_articles(connection: Connection, articles: Sequence[Article]) -> list[int]:
    """Insert what is new and return the new ids; anything already stored is skipped."""
    return sorted(article_id for article_id, _ in insert_new(connection, articles))


def insert_new(connection: Connection, articles: Sequence[Article]) -> list[tuple[int, int]]:
    """Insert what is new, of any number of feeds, and return (id, feed id) of each new row.

    `ON CONFLICT DO NOTHING` covers both unique keys (feed + GUID, canonical URL), so a re-poll
    writes nothing and two pollers racing on PostgreSQL simply skip each other's rows. Sorting
    gives every writer the same lock order. Each feed's `article_count` grows by what was
    inserted, in the caller's transaction (an increment, so concurrent writers add up).
    """
    if not articles:
        return []
    rows = sorted((_row(a) for a in articles), key=lambda r: (r["canonical_url"] or "", r["guid"]))
    # One cached statement executed with many parameter sets: SQLAlchemy batches it into
    # multi-row INSERT ... RETURNING ("insertmanyvalues") without recompiling per batch.
    statement = (
        insert_for(connection, ARTICLES)
        .on_conflict_do_nothing()
        .returning(ARTICLES.c.id, ARTICLES.c.feed_id)
    )
    inserted: list[tuple[int, int]] = []
    for start in range(0, len(rows), BATCH_SIZE):
        inserted.extend(connection.execute(statement, rows[start : start + BATCH_SIZE]).all())
    per_feed = Counter(feed_id for _, feed_id in inserted)
    if per_feed:
        connection.execute(
            update(FeedRow)
            .where(FeedRow.id == bindparam("feed"))
            .values(article_count=FeedRow.article_count + bindparam("added")),
            [{"feed": feed, "added": added} for feed, added in sorted(per_feed.items())],
        )
    return inserted


def _row(article: Article) -> dict[str, object]:
    row = {name: getattr(article, name) for name in ARTICLE_FIELDS}
    row["tags"] = list(article.tags)
    return row


def store_articles(engine: Engine, articles: Sequence[Article]) -> list[int]:
    """Insert articles on their own (backfill): the feed's state is left as it is."""
    with engine.begin() as connection:
        return insert_articles(connection, articles)
