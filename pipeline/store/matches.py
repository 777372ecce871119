"""Reading articles back for scoring, and storing topic matches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import Engine, Select, select, update

from ..records import StoredArticle, TopicMatch
from .database import insert_for
from .schema import ArticleRow, FeedRow, TopicMatchRow

ARTICLES = ArticleRow.__table__
MATCHES = TopicMatchRow.__table__


def _article_query() -> Select[tuple[object, ...]]:
    return select(
        ArticleRow.id,
        ArticleRow.feed_id,
        FeedRow.name,
        ArticleRow.title,
        ArticleRow.url,
        ArticleRow.summary,
        ArticleRow.content,
        ArticleRow.published_at,
        ArticleRow.fetched_at,
    ).join(FeedRow, FeedRow.id == ArticleRow.feed_id)


def _article(row: Sequence[object]) -> StoredArticle:
    return StoredArticle(*row)  # type: ignore[arg-type]


def unscored_articles(engine: Engine, limit: int) -> list[StoredArticle]:
    query = _article_query().where(ArticleRow.scored_at.is_(None)).order_by(ArticleRow.id)
    with engine.connect() as connection:
        return [_article(row) for row in connection.execute(query.limit(limit))]


def recent_feed_articles(engine: Engine, feed_id: int, limit: int) -> list[StoredArticle]:
    """The feed's `limit` most recently stored articles, newest first."""
    query = _article_query().where(ArticleRow.feed_id == feed_id).order_by(ArticleRow.id.desc())
    with engine.connect() as connection:
        return [_article(row) for row in connection.execute(query.limit(limit))]


def get_article(engine: Engine, article_id: int) -> StoredArticle | None:
    with engine.connect() as connection:
        row = connection.execute(_article_query().where(ArticleRow.id == article_id)).first()
    return _article(row) if row else None


def articles_since(
    engine: Engine, since: datetime, batch_size: int = 1000
) -> Iterator[StoredArticle]:
    """Stored articles published since `since`, oldest first, read in batches."""
    last_id = 0
    while True:
        query = (
            _article_query()
            .where(ArticleRow.published_at >= since, ArticleRow.id > last_id)
            .order_by(ArticleRow.id)
            .limit(batch_size)
        )
        with engine.connect() as connection:
            rows = [_article(row) for row in connection.execute(query)]
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def record_scores(
    engine: Engine, article_ids: Sequence[int], matches: Sequence[TopicMatch], now: datetime
) -> int:
    """Store the matches and mark the articles scored, in one transaction; returns how many
    matches were new (a rerun or a second scorer inserts nothing twice)."""
    with engine.begin() as connection:
        inserted = 0
        if matches:
            statement = (
                insert_for(connection, MATCHES).on_conflict_do_nothing().returning(MATCHES.c.id)
            )
            rows = [
                {
                    "article_id": m.article_id,
                    "topic_id": m.topic_id,
                    "score": m.score,
                    "explanation": m.explanation,
                    "matched_at": now,
                }
                for m in matches
            ]
            inserted = len(connection.execute(statement, rows).all())
        connection.execute(
            update(ARTICLES).where(ARTICLES.c.id.in_(article_ids)).values(scored_at=now)
        )
    return inserted


def matches_for_article(engine: Engine, article_id: int) -> list[TopicMatch]:
    query = select(MATCHES.c.article_id, MATCHES.c.topic_id, MATCHES.c.score, MATCHES.c.explanation)
    with engine.connect() as connection:
        rows = connection.execute(query.where(MATCHES.c.article_id == article_id)).all()
    return [TopicMatch(*row) for row in rows]
