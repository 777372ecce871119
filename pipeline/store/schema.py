"""SQLAlchemy models. The schema itself is created by the Alembic migrations in `sql/migrations`;
these classes describe it for queries and must stay in step with them (a test checks)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite (which keeps no zone) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class FeedRow(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    config_url: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    format: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_fetch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str | None] = mapped_column(Text)
    last_http_status: Mapped[int | None] = mapped_column(Integer)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_warning: Mapped[str | None] = mapped_column(Text)
    # Kept by every insert into `articles`, in the same transaction, so `newswatch feeds` does
    # not count a table of millions of rows.
    article_count: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # What feed health (pipeline/health) needs beyond the last fetch: when a fetch last stored
    # something new, when the body last changed (a 304 or an identical body is no change),
    # when the current run of failures began, and where a permanent redirect came from.
    last_new_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    body_hash: Mapped[str | None] = mapped_column(Text)
    body_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    moved_from: Mapped[str | None] = mapped_column(Text)
    moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StoryRow(Base):
    """Near-duplicate articles across outlets: one wire story, however many sites ran it."""

    __tablename__ = "stories"
    __table_args__ = (Index(None, "last_seen_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    first_article_id: Mapped[int] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(Text)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    article_count: Mapped[int] = mapped_column(Integer, default=1)


class ArticleRow(Base):
    __tablename__ = "articles"
    __table_args__ = (
        UniqueConstraint("feed_id", "guid"),
        UniqueConstraint("canonical_url"),
        Index(None, "published_at"),
        Index(None, "fetched_at"),
        Index(None, "content_hash", "published_at"),  # a text's copies within a window
        Index(None, "scored_at"),
        Index(None, "story_id"),
        # Each feed's latest publication times, read newest first to learn its rhythm.
        Index(None, "feed_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    guid: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    canonical_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime)
    published_at_missing: Mapped[bool] = mapped_column(Boolean)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_hash: Mapped[str] = mapped_column(Text)
    # The story (near-duplicates across outlets) and the MinHash signature that placed it there.
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id", ondelete="SET NULL"))
    signature: Mapped[bytes | None] = mapped_column(LargeBinary)
    # "live" (polled) or "backfill" (history): decides how its alerts go out, whoever scores it.
    origin: Mapped[str] = mapped_column(Text, default="live", server_default="live")
    # Set once every enabled topic has seen the article: new articles are scored exactly once,
    # and editing a topic later does not re-score (or re-alert) old ones.
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StoryKeyRow(Base):
    """The 16 LSH bucket keys of each placed article (signed 64-bit), written with its story:
    assignment looks its candidates up by key and date instead of reading back every article
    of their time. Clustered by key on SQLite (no rowid), so one lookup reads one small range."""

    __tablename__ = "story_keys"
    __table_args__: ClassVar = {"sqlite_with_rowid": False}

    band_key: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    article_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class TopicMatchRow(Base):
    """An article that passed a topic, with the score and the explanation shown as "why"."""

    __tablename__ = "topic_matches"
    __table_args__ = (
        UniqueConstraint("article_id", "topic_id"),
        Index(None, "topic_id", "matched_at"),
        # The outbox reads matches not yet enqueued, oldest first: a small index of only those.
        Index(
            "ix_topic_matches_unenqueued",
            "id",
            postgresql_where=text("enqueued_at IS NULL"),
            sqlite_where=text("enqueued_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    topic_id: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON)
    matched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when the match has been turned into alert rows; the match itself is the durable
    # record of an alert owed, so a crash between scoring and alerting loses nothing.
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxState:
    """Where an owed message stands: the columns alerts/transitions.py moves, shared by the
    alerts and the notices."""

    status: Mapped[str] = mapped_column(Text, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    slack_channel: Mapped[str | None] = mapped_column(Text)
    slack_ts: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)


class AlertRow(OutboxState, Base):
    """The outbox: one row per topic, story and destination, whatever reruns, retries or
    backfills happen. Delivery moves it pending -> sending -> sent, or to failed."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("topic_id", "story_id", "destination"),
        Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    topic_id: Mapped[str] = mapped_column(Text)
    story_id: Mapped[int] = mapped_column(BigInteger)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    destination: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(Text, default="live")
    # Later copies of the story from other outlets: [{"feed", "title", "url"}]. When the alert
    # was already sent, `needs_follow_up` asks the next drain for a thread reply.
    also_reported_by: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    needs_follow_up: Mapped[bool] = mapped_column(Boolean, default=False)
    # How it goes out (pipeline/delivery.py): "immediate"; "digest", in its topic's digest due at
    # next_attempt_at; "held" by quiet hours until next_attempt_at, then as an immediate alert.
    delivery: Mapped[str] = mapped_column(Text, default="immediate", server_default="immediate")


class NoticeRow(OutboxState, Base):
    """A message to the operations channel (health summary, stale-feed note), owed once per
    `key` and delivered like an alert: pending -> sending -> sent | failed."""

    __tablename__ = "notices"
    __table_args__ = (UniqueConstraint("key"), Index(None, "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(Text)  # "ops-summary:2026-11-27", "stale-feed:<episode>"
    kind: Mapped[str] = mapped_column(Text)
    destination: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    blocks: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class FetchLogRow(Base):
    __tablename__ = "fetch_log"
    __table_args__ = (Index(None, "feed_id", "started_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(Integer)
    bytes: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    items_new: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    warning: Mapped[str | None] = mapped_column(Text)


class LabelRow(Base):
    """A person's judgement of one match: relevant or not, with who and when. One per (topic,
    article): a second judgement replaces the first."""

    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("topic_id", "article_id"), Index(None, "labelled_at"))

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    topic_id: Mapped[str] = mapped_column(Text)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(Text)  # "relevant" | "not_relevant"
    labelled_by: Mapped[str] = mapped_column(Text)  # a display name: "ana", "web"
    labelled_by_id: Mapped[str | None] = mapped_column(Text)  # Slack user id, when from Slack
    source: Mapped[str] = mapped_column(Text)  # "slack" | "web"
    labelled_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StoryMuteRow(Base):
    """A story a topic should say nothing more about: no follow-ups, no thread replies."""

    __tablename__ = "story_mutes"
    __table_args__ = (UniqueConstraint("topic_id", "story_id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    topic_id: Mapped[str] = mapped_column(Text)
    story_id: Mapped[int] = mapped_column(BigInteger)
    muted_by: Mapped[str] = mapped_column(Text)
    muted_by_id: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    muted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SlackRequestRow(Base):
    """Signatures of recent signed Slack requests: a request seen before is a replay."""

    __tablename__ = "slack_requests"
    __table_args__ = (Index(None, "received_at"),)

    signature: Mapped[str] = mapped_column(Text, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TopicQueryRow(Base):
    """A fingerprint of each topic's query as last seen, and since when it reads so: a topic
    gone silent right after its query changed is a different problem from one whose feeds died."""

    __tablename__ = "topic_queries"

    topic_id: Mapped[str] = mapped_column(Text, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(Text)
    # When a different fingerprint was first seen; None while the query is as first recorded.
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
