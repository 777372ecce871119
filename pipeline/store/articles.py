"""Storing articles: batched, idempotent inserts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from sqlalchemy import Connection

from ..records import Article
from .database import insert_for
from .schema import ArticleRow

BATCH_SIZE = 500


def insert_articles(connection: Connection, articles: Sequence[Article]) -> list[int]:
    """Insert what is new and return the new ids; anything already stored is skipped.

    `ON CONFLICT DO NOTHING` covers both unique keys (feed + GUID, canonical URL), so a re-poll
    writes nothing and two pollers racing on PostgreSQL simply skip each other's rows. Sorting
    gives every writer the same lock order.
    """
    rows = sorted((_row(a) for a in articles), key=lambda r: (r["canonical_url"] or "", r["guid"]))
    new_ids: list[int] = []
    for start in range(0, len(rows), BATCH_SIZE):
        statement = (
            insert_for(connection, ArticleRow)
            .values(rows[start : start + BATCH_SIZE])
            .on_conflict_do_nothing()
            .returning(ArticleRow.id)
        )
        new_ids.extend(connection.execute(statement).scalars())
    return sorted(new_ids)


def _row(article: Article) -> dict[str, object]:
    row = asdict(article)
    row["tags"] = list(article.tags)
    return row
