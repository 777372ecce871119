"""Labels and story mutes: what people said about matches, from Slack buttons or the web pages.

A label is one judgement per (topic, article), relevant or not, with who gave it and when; a
second judgement replaces the first, so a double click or a change of mind never leaves two.
A mute is per (topic, story): the topic says nothing more about that story (no follow-ups, no
thread replies). Labels are the raw material for evaluating and tuning topics
(`newswatch labels export`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine, and_, delete, desc, select, update

from ..errors import NewswatchError
from .database import insert_for
from .schema import (
    AlertRow,
    ArticleRow,
    FeedRow,
    LabelRow,
    StoryMuteRow,
    StoryRow,
    TopicMatchRow,
)

LABELS = LabelRow.__table__
MUTES = StoryMuteRow.__table__
LabelValue = Literal["relevant", "not_relevant"]
LABEL_VALUES: tuple[str, ...] = ("relevant", "not_relevant")


class LabelError(NewswatchError):
    """A label that cannot be recorded: unknown value, unknown article."""


@dataclass(frozen=True, slots=True)
class Reviewer:
    """Who gave a label or a mute: a display name, the Slack user id when it came from Slack,
    and where it came from ("slack" or "web")."""

    name: str
    source: str
    slack_id: str | None = None


@dataclass(frozen=True, slots=True)
class Label:
    topic_id: str
    article_id: int
    label: str
    by: Reviewer
    at: datetime


@dataclass(frozen=True, slots=True)
class Mute:
    topic_id: str
    story_id: int
    by: Reviewer
    at: datetime


def set_label(
    engine: Engine, topic_id: str, article_id: int, label: str, by: Reviewer, now: datetime
) -> Label:
    """Record (or change) the label of one article for one topic."""
    if label not in LABEL_VALUES:
        raise LabelError(f"unknown label {label!r} (expected one of: {', '.join(LABEL_VALUES)})")
    values = {
        "label": label,
        "labelled_by": by.name,
        "labelled_by_id": by.slack_id,
        "source": by.source,
        "labelled_at": now,
    }
    with engine.begin() as connection:
        if connection.scalar(select(ArticleRow.id).where(ArticleRow.id == article_id)) is None:
            raise LabelError(f"no stored article with id {article_id}")
        statement = insert_for(connection, LABELS).values(
            topic_id=topic_id, article_id=article_id, **values
        )
        connection.execute(
            statement.on_conflict_do_update(index_elements=["topic_id", "article_id"], set_=values)
        )
    return Label(topic_id, article_id, label, by, now)


def labels_for(engine: Engine, topic_id: str, article_ids: Sequence[int]) -> dict[int, Label]:
    """The labels of these articles for this topic, by article id."""
    if not article_ids:
        return {}
    query = select(LABELS).where(
        LABELS.c.topic_id == topic_id, LABELS.c.article_id.in_(list(article_ids))
    )
    with engine.connect() as connection:
        return {row.article_id: _label(row) for row in connection.execute(query)}


def _label(row: Any) -> Label:
    by = Reviewer(row.labelled_by, row.source, row.labelled_by_id)
    return Label(row.topic_id, row.article_id, row.label, by, row.labelled_at)


def mute_story(engine: Engine, topic_id: str, story_id: int, by: Reviewer, now: datetime) -> bool:
    """Mute a story for a topic; False when it already was. A thread reply already asked for
    is called off."""
    with engine.begin() as connection:
        if connection.scalar(select(StoryRow.id).where(StoryRow.id == story_id)) is None:
            raise LabelError(f"no stored story with id {story_id}")
        inserted = connection.execute(
            insert_for(connection, MUTES)
            .values(
                topic_id=topic_id,
                story_id=story_id,
                muted_by=by.name,
                muted_by_id=by.slack_id,
                source=by.source,
                muted_at=now,
            )
            .on_conflict_do_nothing()
            .returning(MUTES.c.id)
        ).first()
        connection.execute(
            update(AlertRow)
            .where(AlertRow.topic_id == topic_id, AlertRow.story_id == story_id)
            .values(needs_follow_up=False)
        )
    return inserted is not None


def unmute_story(engine: Engine, topic_id: str, story_id: int) -> bool:
    with engine.begin() as connection:
        return bool(
            connection.execute(
                delete(MUTES).where(MUTES.c.topic_id == topic_id, MUTES.c.story_id == story_id)
            ).rowcount
        )


def mutes_for(engine: Engine, topic_id: str, story_ids: Sequence[int]) -> dict[int, Mute]:
    if not story_ids:
        return {}
    query = select(MUTES).where(MUTES.c.topic_id == topic_id, MUTES.c.story_id.in_(list(story_ids)))
    with engine.connect() as connection:
        return {
            row.story_id: Mute(
                row.topic_id,
                row.story_id,
                Reviewer(row.muted_by, row.source, row.muted_by_id),
                row.muted_at,
            )
            for row in connection.execute(query)
        }


def is_muted():  # type: ignore[no-untyped-def]
    """A SQL condition, true for an alert whose (topic, story) is muted (for the outbox)."""
    return (
        select(MUTES.c.id)
        .where(MUTES.c.topic_id == AlertRow.topic_id, MUTES.c.story_id == AlertRow.story_id)
        .exists()
    )


def story_of(engine: Engine, article_id: int) -> int | None:
    with engine.connect() as connection:
        return connection.scalar(select(ArticleRow.story_id).where(ArticleRow.id == article_id))


@dataclass(frozen=True, slots=True)
class LabelLine:
    """A label with what it was about: one row of the labels page and of the export."""

    topic_id: str
    article_id: int
    label: str
    labelled_by: str
    labelled_by_id: str | None
    source: str
    labelled_at: datetime
    title: str
    url: str | None
    feed: str
    published_at: datetime
    story_id: int | None
    score: float | None  # None: labelled without a stored match (e.g. a near miss)

    def as_record(self) -> dict[str, Any]:
        record = asdict(self)
        record["labelled_at"] = self.labelled_at.isoformat()
        record["published_at"] = self.published_at.isoformat()
        return record


def label_lines(
    engine: Engine, topic_id: str | None = None, limit: int | None = None
) -> Iterator[LabelLine]:
    """Labels, newest first, with their article and the match's score."""
    query = (
        select(
            LABELS.c.topic_id,
            LABELS.c.article_id,
            LABELS.c.label,
            LABELS.c.labelled_by,
            LABELS.c.labelled_by_id,
            LABELS.c.source,
            LABELS.c.labelled_at,
            ArticleRow.title,
            ArticleRow.url,
            FeedRow.name,
            ArticleRow.published_at,
            ArticleRow.story_id,
            TopicMatchRow.score,
        )
        .join(ArticleRow, ArticleRow.id == LABELS.c.article_id)
        .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
        .outerjoin(
            TopicMatchRow,
            and_(
                TopicMatchRow.article_id == LABELS.c.article_id,
                TopicMatchRow.topic_id == LABELS.c.topic_id,
            ),
        )
        .order_by(desc(LABELS.c.labelled_at), desc(LABELS.c.id))
    )
    if topic_id is not None:
        query = query.where(LABELS.c.topic_id == topic_id)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as connection:
        for row in connection.execute(query):
            yield LabelLine(*row)
