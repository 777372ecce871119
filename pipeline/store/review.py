"""What people review: each topic's recent matches and how they were judged (the web pages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, desc, func, select

from .schema import AlertRow, ArticleRow, FeedRow, LabelRow, TopicMatchRow


@dataclass(frozen=True, slots=True)
class TopicActivity:
    topic_id: str
    matches: int
    last_matched_at: datetime | None
    relevant: int
    not_relevant: int


@dataclass(frozen=True, slots=True)
class RecentMatch:
    topic_id: str
    article_id: int
    story_id: int | None
    title: str
    url: str | None
    feed: str
    published_at: datetime
    score: float
    matched_at: datetime


def topic_activity(engine: Engine, since: datetime) -> dict[str, TopicActivity]:
    """Per topic: matches since `since`, the latest one, and the labels given (all time)."""
    with engine.connect() as connection:
        matches = {
            row.topic_id: (row.n, row.last)
            for row in connection.execute(
                select(
                    TopicMatchRow.topic_id,
                    func.count().label("n"),
                    func.max(TopicMatchRow.matched_at).label("last"),
                )
                .where(TopicMatchRow.matched_at >= since)
                .group_by(TopicMatchRow.topic_id)
            )
        }
        labels: dict[str, dict[str, int]] = {}
        for row in connection.execute(
            select(LabelRow.topic_id, LabelRow.label, func.count().label("n")).group_by(
                LabelRow.topic_id, LabelRow.label
            )
        ):
            labels.setdefault(row.topic_id, {})[row.label] = row.n
    activity = {}
    for topic_id in set(matches) | set(labels):
        count, last = matches.get(topic_id, (0, None))
        judged = labels.get(topic_id, {})
        activity[topic_id] = TopicActivity(
            topic_id,
            count,
            last,
            judged.get("relevant", 0),
            judged.get("not_relevant", 0),
        )
    return activity


def _match_query():  # type: ignore[no-untyped-def]
    return (
        select(
            TopicMatchRow.topic_id,
            TopicMatchRow.article_id,
            ArticleRow.story_id,
            ArticleRow.title,
            ArticleRow.url,
            FeedRow.name,
            ArticleRow.published_at,
            TopicMatchRow.score,
            TopicMatchRow.matched_at,
        )
        .join(ArticleRow, ArticleRow.id == TopicMatchRow.article_id)
        .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
    )


def recent_matches(
    engine: Engine, topic_id: str, since: datetime, limit: int = 100
) -> list[RecentMatch]:
    """A topic's matches made since `since` (backfilled history included), newest article
    first."""
    query = (
        _match_query()
        .where(TopicMatchRow.topic_id == topic_id, TopicMatchRow.matched_at >= since)
        .order_by(desc(ArticleRow.published_at), desc(TopicMatchRow.id))
        .limit(limit)
    )
    with engine.connect() as connection:
        return [RecentMatch(*row) for row in connection.execute(query)]


def stored_match(engine: Engine, topic_id: str, article_id: int) -> RecentMatch | None:
    query = _match_query().where(
        TopicMatchRow.topic_id == topic_id, TopicMatchRow.article_id == article_id
    )
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return RecentMatch(*row) if row else None


def alert_subject(engine: Engine, alert_id: int) -> tuple[str, int] | None:
    """(topic, article) an alert was about."""
    query = select(AlertRow.topic_id, AlertRow.article_id).where(AlertRow.id == alert_id)
    with engine.connect() as connection:
        row = connection.execute(query).first()
    return (row.topic_id, row.article_id) if row else None
