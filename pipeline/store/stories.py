"""Assigning stories in the database: each new article joins a near-duplicate's story or starts
one. Candidates come from stored signatures and bucket keys, so every process sees the same
stories and nothing lives only in memory.

Bounded whatever the batch holds: every placed article's 16 bucket keys are stored with its
date (`story_keys`), and the batch, in time order and one window's span of its articles at a
time, reads only the stored articles that share a key or the identical text within the window
(by the keys' primary key and the (content_hash, published_at) index), so a batch mixing
year-old and new articles, or spread over a whole year, reads its candidates, never the year
between them. Each batch is one transaction with few statements: one multi-row insert of the
new stories, bulk updates of the articles and of the stories they joined, and one bulk insert
of the articles' keys. It holds the stories write lock (SQLite: the database write lock;
PostgreSQL: a lock on `stories` that readers do not wait for), so two processes assigning at
once take turns, and no article is placed twice or misses a story the other made.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import (
    BigInteger,
    Connection,
    Engine,
    Integer,
    Row,
    Select,
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
    Nearest,
    StoredWindow,
    StoryIndex,
    from_bytes_matrix,
    signature,
    stored_band_keys,
    to_bytes,
)
from .schema import ArticleRow, FeedRow, StoryKeyRow, StoryRow, UTCDateTime

BATCH = 1000
KEYS_PER_QUERY = 2_000  # bucket keys (or article ids) looked up in one statement
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STORIES = StoryRow.__table__
ARTICLES = ArticleRow.__table__
KEYS = StoryKeyRow.__table__


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
    keys: list[dict[str, object]] = field(default_factory=list)  # story_keys rows


def _place(
    connection: Connection, batch: list[Row], window: timedelta, report: StoryReport
) -> _Placements:
    """Place the batch in time order; new stories get ids -1, -2, ... until inserted."""
    nearby = _Neighbourhood(connection, window)
    signatures = [signature(row.title, row.summary) for row in batch]
    band_keys = stored_band_keys(np.array(signatures)).tolist()  # looked up, then stored
    placed = _Placements()
    for i, (row, sig) in enumerate(zip(batch, signatures, strict=True)):
        nearby.cover(batch, band_keys, i)
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
    placed.keys = [
        {"band_key": key, "published_at": row.published_at, "article_id": row.id}
        for row, keys in zip(batch, band_keys, strict=True)
        for key in keys
    ]
    report.loaded += nearby.loaded
    return placed


class _Neighbourhood:
    """What the article being placed is compared with: the stored articles that could join it
    (the same text, or a shared bucket key, within its window), looked up for a group of the
    batch's articles at a time (those within one window of the group's first), and the batch's
    articles placed so far. What is read does not depend on how many articles the stored
    window holds, so a batch spread over a year reads its candidates, not the year."""

    def __init__(self, connection: Connection, window: timedelta) -> None:
        self.connection = connection
        self.window = window
        self.stored = StoredWindow(window)
        self.batch = StoryIndex(window)
        self.until: datetime | None = None  # the batch's articles up to here are covered
        self.loaded = 0

    def nearest(self, sig: np.ndarray, content_hash: str, when: datetime) -> Nearest:
        found = self.stored.nearest(sig, content_hash, _micros(when))
        return found.merge(self.batch.nearest(sig, content_hash, when))

    def cover(self, rows: list[Row], band_keys: list[list[int]], start: int) -> None:
        """Look up the candidates of rows[start] and of the later rows within one window of it
        (rows are in time order; `band_keys` are theirs, as stored)."""
        first = rows[start].published_at
        if self.until is not None and first <= self.until:
            return
        self.until = first + self.window
        group = list(range(start, bisect_right(rows, self.until, key=lambda r: r.published_at)))
        earliest, latest = first - self.window, rows[group[-1]].published_at + self.window
        self.stored.drop_before(_micros(earliest))
        self.batch.evict_before(earliest)
        found = self._read(
            select(*_CANDIDATE).where(
                ArticleRow.content_hash.in_({rows[i].content_hash for i in group}),
                ArticleRow.published_at.between(earliest, latest),
            )
        )
        # An article with a stored copy of its text joins a copy whatever else is near, so its
        # keys are not looked up: the same text many times (empty ones) costs no bucket reads.
        copies: dict[str, list[int]] = {}
        for _, _, _, content_hash, when in found.values():
            copies.setdefault(content_hash, []).append(when)
        window = self.window // timedelta(microseconds=1)
        keys = sorted({
            key
            for i in group
            if not any(abs(_micros(rows[i].published_at) - when) <= window
                       for when in copies.get(rows[i].content_hash, ()))
            for key in band_keys[i]
        })  # fmt: skip
        # Two steps rather than a join, so no plan can scan `articles`: the keys' own index
        # gives the few ids, then each article is read by its primary key.
        sharing: set[int] = set()
        for start in range(0, len(keys), KEYS_PER_QUERY):
            sharing.update(
                self.connection.execute(
                    select(KEYS.c.article_id).where(
                        KEYS.c.band_key.in_(keys[start : start + KEYS_PER_QUERY]),
                        KEYS.c.published_at.between(earliest, latest),
                    )
                ).scalars()
            )
        ids = sorted(sharing.difference(found))
        for start in range(0, len(ids), KEYS_PER_QUERY):
            chunk = ids[start : start + KEYS_PER_QUERY]
            found.update(self._read(select(*_CANDIDATE).where(ArticleRow.id.in_(chunk))))
        self._keep(sorted(found.values(), key=lambda row: (row[4], row[0])))

    def _read(self, query: Select) -> dict[int, tuple]:
        """Placed articles by id: (id, story, signature, content hash, microseconds)."""
        sqlite = self.connection.dialect.name == "sqlite"
        rows = self.connection.execute(
            query.add_columns(
                # Raw, for numpy to convert at once: SQLite's text, PostgreSQL's microseconds.
                type_coerce(ArticleRow.published_at, Text)
                if sqlite
                else cast(func.extract("epoch", ArticleRow.published_at) * 1_000_000, BigInteger)
            ).where(ArticleRow.story_id.is_not(None), ArticleRow.signature.is_not(None))
        ).all()
        if not rows:
            return {}
        whens = np.array([row[4] for row in rows], dtype="datetime64[us]" if sqlite else np.int64)
        return {
            row[0]: (*row[:4], when)
            for row, when in zip(rows, whens.astype(np.int64).tolist(), strict=True)
        }

    def _keep(self, rows: list[tuple]) -> None:
        if not rows:
            return
        ids, stories, signatures, hashes, whens = zip(*rows, strict=True)
        self.stored.add(
            np.array(ids, dtype=np.int64),
            np.array(stories, dtype=np.int64),
            np.array(whens, dtype=np.int64),
            from_bytes_matrix(signatures),
            hashes,
        )
        self.loaded += len(rows)


_CANDIDATE = (ArticleRow.id, ArticleRow.story_id, ArticleRow.signature, ArticleRow.content_hash)


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _write(connection: Connection, placed: _Placements, report: StoryReport) -> None:
    """The batch's placements in four bulk statements."""
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
    connection.execute(insert(KEYS), placed.keys)
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
