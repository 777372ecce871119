"""Storing articles: batched, idempotent inserts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields

from sqlalchemy import Connection, Engine

from ..records import Article
from .database import insert_for
from .schema import ArticleRow

BATCH_SIZE = 500
ARTICLES = ArticleRow.__table__
ARTICLE_FIELDS = tuple(f.name for f in fields(Article))


def insert_articles(connection: Connection, articles: Sequence[Article]) -> list[int]:
    """Insert what is new and return the new ids; anything already stored is skipped.

    `ON CONFLICT DO NOTHING` covers both unique keys (feed + GUID, canonical URL), so a re-poll
    writes nothing and two pollers racing on PostgreSQL simply skip each other's rows. Sorting
    gives every writer the same lock order.
    """
    if not articles:
        return []
    rows = sorted((_row(a) for a in articles), key=lambda r: (r["canonical_url"] or "", r["guid"]))
    # One cached statement executed with many parameter sets: SQLAlchemy batches it into
    # multi-row INSERT ... RETURNING ("insertmanyvalues") without recompiling per batch.
    statement = insert_for(connection, ARTICLES).on_conflict_do_nothing().returning(ARTICLES.c.id)
    new_ids: list[int] = []
    for start in range(0, len(rows), BATCH_SIZE):
        new_ids.extend(connection.execute(statement, rows[start : start + BATCH_SIZE]).scalars())
    return sorted(new_ids)


def _row(article: Article) -> dict[str, object]:
    row = {name: getattr(article, name) for name in ARTICLE_FIELDS}
    row["tags"] = list(article.tags)
    return row


def store_articles(engine: Engine, articles: Sequence[Article]) -> list[int]:
    """Insert articles on their own (backfill): the feed's state is left as it is."""
    with engine.begin() as connection:
        return insert_articles(connection, articles)
