"""Stored history for story benchmarks and tests: placed articles (each with its story and
MinHash signature) written in bulk, about a million a minute.

SQLite gets one prepared `executemany` per table; PostgreSQL gets `COPY`. Each article's story
and bucket keys (`story_keys`) are written with it. Bulk articles have
random signatures (distinct stories: what they cost is being read back, not matched); `real`
texts get true signatures, so new articles can join them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import Engine, func, select

from pipeline import store
from pipeline.config import FeedConfig
from pipeline.parse import content_hash
from pipeline.records import Article
from pipeline.store.schema import ArticleRow, StoryRow
from pipeline.stories import (
    PERMUTATIONS,
    from_bytes_matrix,
    signature,
    stored_band_keys,
    to_bytes,
)

CHUNK = 50_000
ARTICLE_COLUMNS = (
    "id", "feed_id", "guid", "url", "canonical_url", "title", "summary", "content", "author",
    "tags", "published_at", "published_at_missing", "fetched_at", "content_hash", "story_id",
    "signature", "origin", "scored_at",
)  # fmt: skip
KEY_COLUMNS = ("band_key", "published_at", "article_id")
STORY_COLUMNS = ("id", "first_article_id", "title", "first_seen_at", "last_seen_at",
                 "article_count")  # fmt: skip
SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores DateTime on SQLite


def feed_id(engine: Engine, name: str) -> int:
    feed = FeedConfig(name=name, url=f"https://{name}.example/feed")
    (scheduled,) = store.sync_feeds(engine, [feed], datetime.now(UTC))
    return scheduled.source.id


def insert_history(
    engine: Engine,
    count: int,
    start: datetime,
    end: datetime,
    *,
    real: Sequence[tuple[datetime, str, str]] = (),
    feed: str = "history",
    seed: int = 7,
) -> None:
    """`count` placed articles spread evenly over [start, end), plus the `real` ones (when,
    title, summary), each the first article of its own story."""
    feed_key = feed_id(engine, feed)
    with engine.connect() as connection:
        first = (connection.execute(select(func.max(ArticleRow.id))).scalar() or 0) + 1
        first_story = (connection.execute(select(func.max(StoryRow.id))).scalar() or 0) + 1
    rows = _rows(feed_key, count, start, end, real, first, first_story, seed)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for chunk in _chunks(rows, CHUNK):
            stories = [_story_of(row) for row in chunk]
            keys = _keys_of(chunk)
            if engine.dialect.name == "sqlite":
                _sqlite_insert(cursor, "stories", STORY_COLUMNS, stories)
                _sqlite_insert(cursor, "articles", ARTICLE_COLUMNS, chunk)
                _sqlite_insert(cursor, "story_keys", KEY_COLUMNS, keys)
            else:
                _copy(cursor, "stories", STORY_COLUMNS, stories)
                _copy(cursor, "articles", ARTICLE_COLUMNS, chunk)
                _copy(cursor, "story_keys", KEY_COLUMNS, keys)
        if engine.dialect.name == "postgresql":
            for table in ("articles", "stories"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        raw.commit()
        if engine.dialect.name == "sqlite":  # fold the WAL into the file: reads as in steady use
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()


def _rows(
    feed_key: int,
    count: int,
    start: datetime,
    end: datetime,
    real: Sequence[tuple[datetime, str, str]],
    first: int,
    first_story: int,
    seed: int,
) -> Iterator[tuple[object, ...]]:
    rng = np.random.default_rng(seed)
    step = (end - start) / max(count, 1)
    texts = [(when, title, summary, to_bytes(signature(title, summary))) for when, title, summary
             in real]  # fmt: skip
    for offset in range(0, count + len(texts), CHUNK):
        n = min(CHUNK, count + len(texts) - offset)
        random_sigs = rng.integers(0, 2**32, (n, PERMUTATIONS), dtype=np.uint32).astype("<u4")
        for j in range(n):
            i = offset + j
            if i < count:
                when = start + step * i
                title, summary, sig = f"History item {i}", "", random_sigs[j].tobytes()
                text_hash = f"history-{i}"
            else:
                when, title, summary, sig = texts[i - count]
                text_hash = content_hash(title, summary)
            yield (
                first + i, feed_key, f"history-{first + i}", None,
                f"https://history.example/{first + i}", title, summary, "", None, "[]", when,
                False, when, text_hash, first_story + i, sig, "live", when,
            )  # fmt: skip


def _story_of(row: tuple[object, ...]) -> tuple[object, ...]:
    return (row[14], row[0], row[5], row[10], row[10], 1)


def _keys_of(chunk: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """The story_keys rows of placed articles, as assignment writes them."""
    keys = stored_band_keys(from_bytes_matrix([row[15] for row in chunk])).tolist()  # type: ignore[misc]
    return [(key, row[10], row[0]) for row, row_keys in zip(chunk, keys, strict=True)
            for key in row_keys]  # fmt: skip


def _chunks(rows: Iterator[tuple[object, ...]], size: int) -> Iterator[list[tuple[object, ...]]]:
    chunk: list[tuple[object, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _sqlite_insert(cursor, table: str, columns: Sequence[str], rows: list) -> None:  # type: ignore[no-untyped-def]
    converted = [
        tuple(v.astimezone(UTC).strftime(SQLITE_TIME) if isinstance(v, datetime) else v
              for v in row)
        for row in rows
    ]  # fmt: skip
    marks = ", ".join("?" * len(columns))
    cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", converted)


def _copy(cursor, table: str, columns: Sequence[str], rows: list) -> None:  # type: ignore[no-untyped-def]
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def unplaced(
    feed_key: int, texts: Sequence[tuple[datetime, str, str]], prefix: str = "new"
) -> list[Article]:
    """New articles (no story yet) with these (when, title, summary), for `insert_articles`."""
    return [
        Article(
            feed_id=feed_key,
            guid=f"{prefix}-{i}",
            url=f"https://{prefix}.example/{i}",
            canonical_url=f"https://{prefix}.example/{i}",
            title=title,
            summary=summary,
            content="",
            author=None,
            tags=(),
            published_at=when,
            published_at_missing=False,
            fetched_at=when,
            content_hash=content_hash(title, summary),
        )
        for i, (when, title, summary) in enumerate(texts)
    ]


def vocabulary_texts(
    count: int, start: datetime, end: datetime, *, seed: int = 11, copies: int = 3
) -> list[tuple[datetime, str, str]]:
    """`count` distinct stories at random moments in [start, end), each followed by up to
    `copies` syndicated variants within a few days (some beyond a 72-hour window)."""
    from benchmarks.story_eval import corpus_articles, variants

    rng = random.Random(seed)
    vocabulary = sorted({w for a in corpus_articles() for w in f"{a.title} {a.summary}".split()})
    span = (end - start).total_seconds()
    texts = []
    for _ in range(count):
        when = start + timedelta(seconds=rng.uniform(0, span))
        title = " ".join(rng.choices(vocabulary, k=10))
        summary = " ".join(rng.choices(vocabulary, k=30))
        texts.append((when, title, summary))
        for variant in rng.sample(list(variants(title, summary).values()), rng.randint(0, copies)):
            texts.append((when + timedelta(hours=rng.uniform(-100, 100)), *variant))
        if rng.random() < 0.1:  # the very same text from another outlet
            texts.append((when + timedelta(hours=rng.uniform(0, 10)), title, summary))
    return texts
