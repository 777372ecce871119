"""Assigning stories in the database: each new article joins a near-duplicate's story or starts
one. The index is rebuilt from stored signatures, so every process sees the same stories and
nothing lives only in memory.

Bounded whatever the batch holds: the batch is placed in time order, and the index holds only
the placed articles within the window of the article being placed (read from the database as
the batch moves forward, dropped once behind it), so a batch mixing year-old and new articles
reads two small neighbourhoods, never the year between them. Each batch is one transaction
with few statements: one multi-row insert of the new stories, then bulk updates of the
articles and of the stories they joined. It holds the stories write lock (SQLite: the database
write lock; PostgreSQL: a lock on `stories` that readers do not wait for), so two processes
assigning at once take turns, and no article is placed twice or misses a story the other made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Integer,
    Row,
    Text,
    bindparam,
    case,
    cast,
    desc,
    func,
    insert,
    select,
    type_coerce,
    update,
)

from ..stories import (
    DEFAULT_WINDOW,
    PERMUTATIONS,
    Nearest,
    StoredWindow,
    StoryIndex,
    signature,
    to_bytes,
)
from .schema import ArticleRow, FeedRow, StoryRow, UTCDateTime

BATCH = 1000
READ_AHEAD = 0.25  # of a window
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STORIES = StoryRow.__table__
ARTICLES = ArticleRow.__table__


@dataclass(slots=True)
class StoryReport:
    assigned: int = 0
    new_stories: int = 0
    joined: int = 0  # articles that joined an existing story
    loaded: int = 0  # placed articles read back into the index to compare with


def assign_stories(
    engine: Engine, window: timedelta = DEFAULT_WINDOW, *, batch_size: int = BATCH
) -> StoryReport:
    """Place every article that has no story yet, oldest first."""
    report = StoryReport()
    while True:
        with engine.begin() as connection:
            _lock_stories(connection)
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
                .limit(batch_size)
            ).all()
            if not batch:
                return report
            _write(connection, _place(connection, batch, window, report), report)


def _lock_stories(connection: Connection) -> None:
    """Take the stories write lock before reading anything, for the whole transaction."""
    if connection.dialect.name == "sqlite":
        # pysqlite opens transactions only before DML; this one must start (and lock) first.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("LOCK TABLE stories IN SHARE ROW EXCLUSIVE MODE")


@dataclass(slots=True)
class _NewStory:
    first: Row  # the article that starts it
    last_seen_at: datetime
    count: int = 1


@dataclass(slots=True)
class _Placements:
    articles: list[dict[str, object]] = field(default_factory=list)
    new: list[_NewStory] = field(default_factory=list)
    joined: dict[int, tuple[int, datetime]] = field(default_factory=dict)  # story: count, last


def _place(
    connection: Connection, batch: list[Row], window: timedelta, report: StoryReport
) -> _Placements:
    """Place the batch in time order; new stories get ids -1, -2, ... until inserted."""
    nearby = _Neighbourhood(connection, window)
    placed = _Placements()
    for row in batch:
        sig = signature(row.title, row.summary)
        found = nearby.nearest(sig, row.content_hash, row.published_at).choice
        if found is None:
            placed.new.append(_NewStory(row, row.published_at))
            story = -len(placed.new)
        else:
            story = found[0]
            if story < 0:
                new = placed.new[-story - 1]
                new.count += 1
                new.last_seen_at = max(new.last_seen_at, row.published_at)
            else:
                count, last = placed.joined.get(story, (0, row.published_at))
                placed.joined[story] = (count + 1, max(last, row.published_at))
        placed.articles.append({"b_id": row.id, "b_story": story, "b_signature": to_bytes(sig)})
        nearby.batch.add(row.id, story, sig, row.content_hash, row.published_at)
    report.loaded += nearby.loaded
    return placed


class _Neighbourhood:
    """What the article being placed is compared with: the stored articles within its window,
    read forward in time in chunks (a little beyond what is needed now, so a dense batch needs
    few queries) and dropped once behind it, and the batch's articles placed so far."""

    def __init__(self, connection: Connection, window: timedelta) -> None:
        self.connection = connection
        self.window = window
        self.stored = StoredWindow(window)
        self.batch = StoryIndex(window)
        self.until: datetime | None = None  # stored articles up to here have been read
        self.loaded = 0

    def nearest(self, sig: np.ndarray, content_hash: str, when: datetime) -> Nearest:
        self._cover(when)
        found = self.stored.nearest(sig, content_hash, _micros(when))
        return found.merge(self.batch.nearest(sig, content_hash, when))

    def _cover(self, when: datetime) -> None:
        earliest, latest = when - self.window, when + self.window
        if self.until is not None and latest <= self.until:
            return
        self.stored.drop_before(_micros(earliest))
        self.batch.evict_before(earliest)
        if self.until is None or earliest > self.until:  # a gap in time: start afresh
            after = ArticleRow.published_at >= earliest
        else:
            after = ArticleRow.published_at > self.until
        self.until = latest + self.window * READ_AHEAD
        sqlite = self.connection.dialect.name == "sqlite"
        rows = self.connection.execute(
            select(
                ArticleRow.id,
                ArticleRow.story_id,
                ArticleRow.signature,
                ArticleRow.content_hash,
                # Raw, for numpy to convert at once: SQLite's text, PostgreSQL's microseconds.
                type_coerce(ArticleRow.published_at, Text)
                if sqlite
                else cast(func.extract("epoch", ArticleRow.published_at) * 1_000_000, BigInteger),
            )
            .where(
                ArticleRow.story_id.is_not(None),
                ArticleRow.signature.is_not(None),
                after,
                ArticleRow.published_at <= self.until,
            )
            .order_by(ArticleRow.published_at, ArticleRow.id)
        ).all()
        if not rows:
            return
        ids, stories, signatures, hashes, whens = zip(*rows, strict=True)
        matrix = np.frombuffer(b"".join(signatures), dtype="<u4").astype(np.uint32)
        times = np.array(whens, dtype="datetime64[us]" if sqlite else np.int64).astype(np.int64)
        self.stored.add(
            np.array(ids, dtype=np.int64),
            np.array(stories, dtype=np.int64),
            times,
            matrix.reshape(len(rows), PERMUTATIONS),
            hashes,
        )
        self.loaded += len(rows)


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _write(connection: Connection, placed: _Placements, report: StoryReport) -> None:
    """The batch's placements in three bulk statements."""
    ids: list[int] = []
    if placed.new:
        ids = list(
            connection.execute(
                insert(STORIES).returning(STORIES.c.id, sort_by_parameter_order=True),
                [
                    {
                        "first_article_id": new.first.id,
                        "title": new.first.title,
                        "first_seen_at": new.first.published_at,
                        "last_seen_at": new.last_seen_at,
                        "article_count": new.count,
                    }
                    for new in placed.new
                ],
            ).scalars()
        )
    for article in placed.articles:
        story = article["b_story"]
        if isinstance(story, int) and story < 0:
            article["b_story"] = ids[-story - 1]
    connection.execute(
        update(ARTICLES)
        .where(ARTICLES.c.id == bindparam("b_id"), ARTICLES.c.story_id.is_(None))
        .values(story_id=bindparam("b_story"), signature=bindparam("b_signature")),
        placed.articles,
    )
    if placed.joined:
        latest, seen = bindparam("b_last", type_=UTCDateTime()), STORIES.c.last_seen_at
        connection.execute(
            update(STORIES)
            .where(STORIES.c.id == bindparam("b_id"))
            .values(
                article_count=STORIES.c.article_count + bindparam("b_count", type_=Integer()),
                last_seen_at=case((seen < latest, latest), else_=seen),
            ),
            [
                {"b_id": story, "b_count": count, "b_last": last}
                for story, (count, last) in sorted(placed.joined.items())
            ],
        )
    report.assigned += len(placed.articles)
    report.new_stories += len(placed.new)
    report.joined += len(placed.articles) - len(placed.new)


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
