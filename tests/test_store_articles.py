"""PostgreSQL stores articles with one array per column (unnest); the rows it stores must be
exactly those SQLAlchemy's multi-row INSERT ... VALUES stores, the shape SQLite still uses."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Connection, Engine, select

from pipeline import store
from pipeline.config import FeedConfig
from pipeline.parse import parse_feed
from pipeline.records import Article
from pipeline.store import articles as article_store
from pipeline.store.schema import ArticleRow, FeedRow
from tests.conftest import CORPUS, drop_schema, fetched, postgres_url

Insert = Callable[[Connection, list[dict[str, object]]], list[tuple[int, int]]]


@pytest.fixture
def two_postgres_engines() -> Iterator[tuple[Engine, Engine]]:
    urls = [postgres_url(), postgres_url()]
    engines = [store.connect(url) for url in urls]
    for engine in engines:
        store.upgrade(engine)
    yield engines[0], engines[1]
    for engine, url in zip(engines, urls, strict=True):
        engine.dispose()
        drop_schema(url)


def corpus_articles(engine: Engine) -> list[Article]:
    """Every news feed of the corpus, parsed, plus articles with the awkward values: no URL or
    author, tags with quotes, backslashes, braces and non-ASCII, a date in another zone, and
    the same canonical URL in two feeds (the second is skipped)."""
    paths = sorted((CORPUS / "news_feeds").iterdir())
    scheduled = store.sync_feeds(
        engine, [FeedConfig(name=p.name, url=f"https://example.net/{p.name}") for p in paths], NOW
    )
    articles = []
    for path, feed in zip(paths, scheduled, strict=True):
        document = fetched(path, feed.source.url)
        document = replace(document, source=feed.source, fetched_at=NOW)
        articles += parse_feed(document).articles
    first, second = scheduled[0].source.id, scheduled[1].source.id
    odd = Article(
        feed_id=first,
        guid='odd "guid" \\ {1,2}',
        url=None,
        canonical_url=None,
        title="Zürich: «quotes» and \\backslash\\",
        summary="",
        content="a\tb\nc",
        author=None,
        tags=('say "hi"', "back\\slash", "{braces}", "NULL", "", "ünïcode"),
        published_at=datetime(2026, 3, 1, 9, 0, tzinfo=timezone(timedelta(hours=-5))),
        published_at_missing=True,
        fetched_at=NOW,
        content_hash="h",
    )
    shared = replace(odd, guid="shared", url="https://x.example/a", canonical_url="x.example/a")
    return [*articles, odd, shared, replace(shared, feed_id=second), replace(odd, tags=())]


NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def stored(engine: Engine, write: Insert) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    original = article_store._insert_postgres
    article_store._insert_postgres = write  # the shape under test, on the same database
    try:
        articles = corpus_articles(engine)
        with engine.begin() as connection:
            first = article_store.insert_new(connection, articles)
        with engine.begin() as connection:
            again = article_store.insert_new(connection, articles)
    finally:
        article_store._insert_postgres = original
    return sorted(first), again


def rows(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        articles = connection.execute(select(ArticleRow.__table__).order_by(ArticleRow.id)).all()
        counts = connection.execute(
            select(FeedRow.id, FeedRow.article_count).order_by(FeedRow.id)
        ).all()
    return [tuple(row) for row in articles] + [tuple(row) for row in counts]


def test_postgres_unnest_insert_stores_what_a_multi_row_values_insert_stores(
    two_postgres_engines,
):
    unnest, values = two_postgres_engines
    new_by_unnest, again_by_unnest = stored(unnest, article_store._insert_postgres)
    new_by_values, again_by_values = stored(values, article_store._insert_rows)
    assert len(new_by_unnest) > 900
    assert new_by_unnest == new_by_values
    assert again_by_unnest == again_by_values == []
    assert rows(unnest) == rows(values)
    odd = [row for row in rows(unnest) if len(row) > 2 and row[2] == 'odd "guid" \\ {1,2}']
    assert odd[0][9] == ['say "hi"', "back\\slash", "{braces}", "NULL", "", "ünïcode"]
    assert odd[0][10] == datetime(2026, 3, 1, 14, 0, tzinfo=UTC)
