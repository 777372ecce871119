"""Assigning stories in the database: each new article joins a near-duplicate's story or starts
one. The index is rebuilt from stored signatures for the batch's time range, so every process
sees the same stories and nothing lives only in memory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, case, desc, select, update

from ..stories import DEFAULT_WINDOW, StoryIndex, from_bytes, signature, to_bytes
from .database import insert_for
from .schema import ArticleRow, FeedRow, StoryRow

BATCH = 1000
STORIES = StoryRow.__table__


@dataclass(slots=True)
class StoryReport:
    assigned: int = 0
    new_stories: int = 0
    joined: int = 0  # articles that joined an existing story


def assign_stories(engine: Engine, window: timedelta = DEFAULT_WINDOW) -> StoryReport:
    """Place every article that has no story yet, oldest first."""
    report = StoryReport()
    while True:
        with engine.connect() as connection:
            batch = connection.execute(
                select(
                    ArticleRow.id,
                    ArticleRow.title,
                    ArticleRow.summary,
                    ArticleRow.content_hash,
                    ArticleRow.published_at,
                )
                .where(ArticleRow.story_id.is_(None))
                .order_by(ArticleRow.published_at, ArticleRow.id)
                .limit(BATCH)
            ).all()
        if not batch:
            return report
        index = _load_index(engine, window, batch[0].published_at, batch[-1].published_at)
        with engine.begin() as connection:
            for row in batch:
                sig = signature(row.title, row.summary)
                found = index.find(sig, row.content_hash, row.published_at)
                if found is None:
                    story_id = connection.execute(
                        insert_for(connection, STORIES)
                        .values(
                            first_article_id=row.id,
                            title=row.title,
                            first_seen_at=row.published_at,
                            last_seen_at=row.published_at,
                            article_count=1,
                        )
                        .returning(STORIES.c.id)
                    ).scalar_one()
                else:
                    story_id = found[0]
                placed = connection.execute(
                    update(ArticleRow)
                    .where(ArticleRow.id == row.id, ArticleRow.story_id.is_(None))
                    .values(story_id=story_id, signature=to_bytes(sig))
                ).rowcount
                if not placed:  # another process placed it first
                    continue
                if found is not None:
                    connection.execute(
                        update(StoryRow)
                        .where(StoryRow.id == story_id)
                        .values(
                            article_count=StoryRow.article_count + 1,
                            last_seen_at=case(
                                (StoryRow.last_seen_at < row.published_at, row.published_at),
                                else_=StoryRow.last_seen_at,
                            ),
                        )
                    )
                    report.joined += 1
                else:
                    report.new_stories += 1
                report.assigned += 1
                index.add(row.id, story_id, sig, row.content_hash, row.published_at)


def _load_index(engine: Engine, window: timedelta, first: datetime, last: datetime) -> StoryIndex:
    index = StoryIndex(window)
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                ArticleRow.id,
                ArticleRow.story_id,
                ArticleRow.signature,
                ArticleRow.content_hash,
                ArticleRow.published_at,
            ).where(
                ArticleRow.story_id.is_not(None),
                ArticleRow.signature.is_not(None),
                ArticleRow.published_at >= first - window,
                ArticleRow.published_at <= last + window,
            )
        )
        for row in rows:
            index.add(
                row.id, row.story_id, from_bytes(row.signature), row.content_hash, row.published_at
            )
    return index


@dataclass(frozen=True, slots=True)
class StoryLine:
    id: int
    title: str
    articles: int
    outlets: list[str]
    first_seen_at: datetime
    last_seen_at: datetime


def biggest_stories(engine: Engine, since: datetime, limit: int = 20) -> list[StoryLine]:
    """The stories seen since `since` with the most articles, and the outlets that ran them."""
    with engine.connect() as connection:
        stories = connection.execute(
            select(StoryRow)
            .where(StoryRow.last_seen_at >= since)
            .order_by(desc(StoryRow.article_count), desc(StoryRow.last_seen_at))
            .limit(limit)
        ).all()
        outlets: dict[int, list[str]] = {}
        if stories:
            for story_id, name in connection.execute(
                select(ArticleRow.story_id, FeedRow.name)
                .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
                .where(ArticleRow.story_id.in_([s.id for s in stories]))
                .order_by(ArticleRow.published_at)
            ):
                names = outlets.setdefault(story_id, [])
                if name not in names:
                    names.append(name)
    return [
        StoryLine(
            s.id, s.title, s.article_count, outlets.get(s.id, []), s.first_seen_at, s.last_seen_at
        )
        for s in stories
    ]
