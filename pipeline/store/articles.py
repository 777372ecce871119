"""Storing articles: batched, idempotent inserts."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import fields
from functools import cache

from sqlalchemy import Connection, Engine, bindparam, update
from sqlalchemy.dialects import postgresql

from ..records import Article
from .database import insert_for
from .schema import ArticleRow, FeedRow, UTCDateTime

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
    write = _insert_postgres if connection.dialect.name == "postgresql" else _insert_rows
    inserted: list[tuple[int, int]] = []
    for start in range(0, len(rows), BATCH_SIZE):
        inserted.extend(write(connection, rows[start : start + BATCH_SIZE]))
    per_feed = Counter(feed_id for _, feed_id in inserted)
    if per_feed:
        connection.execute(
            update(FeedRow)
            .where(FeedRow.id == bindparam("feed"))
            .values(article_count=FeedRow.article_count + bindparam("added")),
            [{"feed": feed, "added": added} for feed, added in sorted(per_feed.items())],
        )
    return inserted


def _insert_rows(connection: Connection, rows: list[dict[str, object]]) -> list[tuple[int, int]]:
    # One cached statement executed with many parameter sets: SQLAlchemy batches it into
    # multi-row INSERT ... RETURNING ("insertmanyvalues") without recompiling per batch.
    statement = (
        insert_for(connection, ARTICLES)
        .on_conflict_do_nothing()
        .returning(ARTICLES.c.id, ARTICLES.c.feed_id)
    )
    return [(row[0], row[1]) for row in connection.execute(statement, rows)]


def _insert_postgres(
    connection: Connection, rows: list[dict[str, object]]
) -> list[tuple[int, int]]:
    """The same insert as one array per column, unnested by the server: a multi-row VALUES
    of 500 rows has 7,000 placeholders, which psycopg re-parses on every batch (a third of the
    insert's time); fourteen arrays make a short statement it prepares once. The arrays go in
    binary format (`%b`): in text format psycopg escapes every element with a regex."""
    to_utc = UTCDateTime().process_bind_param
    columns = []
    for name in ARTICLE_FIELDS:
        values = [row[name] for row in rows]
        if name == "tags":
            values = [json.dumps(tags) for tags in values]
        elif name in _TIMESTAMPS:
            values = [to_utc(value, connection.dialect) for value in values]  # type: ignore[arg-type]
        columns.append(values)
    result = connection.exec_driver_sql(_unnest_statement(), tuple(columns))
    return [(row[0], row[1]) for row in result]


_TIMESTAMPS = {name for name in ARTICLE_FIELDS if isinstance(ARTICLES.c[name].type, UTCDateTime)}


@cache
def _unnest_statement() -> str:
    """INSERT ... SELECT FROM unnest(one array per column) ON CONFLICT DO NOTHING RETURNING;
    JSON travels as text (psycopg sends lists of str as text[]) and is cast back."""
    dialect = postgresql.dialect()
    arrays, outputs = [], []
    for name in ARTICLE_FIELDS:
        sql_type = ARTICLES.c[name].type.compile(dialect=dialect)
        if sql_type == "JSON":
            arrays.append("%b::TEXT[]")
            outputs.append(f"{name}::JSON")
        else:
            arrays.append(f"%b::{sql_type}[]")
            outputs.append(name)
    names = ", ".join(ARTICLE_FIELDS)
    return (
        f"INSERT INTO {ARTICLES.name} ({names}) SELECT {', '.join(outputs)}"
        f" FROM unnest({', '.join(arrays)}) AS batch({names})"
        " ON CONFLICT DO NOTHING RETURNING id, feed_id"
    )


def _row(article: Article) -> dict[str, object]:
    row = {name: getattr(article, name) for name in ARTICLE_FIELDS}
    row["tags"] = list(article.tags)
    return row


def store_articles(engine: Engine, articles: Sequence[Article]) -> list[int]:
    """Insert articles on their own (backfill): the feed's state is left as it is."""
    with engine.begin() as connection:
        return insert_articles(connection, articles)
