"""story_keys: the LSH bucket keys of placed articles, so story candidates are looked up;
copies of a text by text and date

A batch spread over a year read back every stored article of the year to compare with; with
the keys stored, it reads only articles that share a bucket key. The keys of articles already
placed are computed from their stored signatures, a page of articles at a time (bounded memory
at any table size).

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from pipeline.stories import from_bytes_matrix, stored_band_keys

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

PAGE = 20_000  # articles per read: 320,000 key rows per write


def upgrade() -> None:
    # Copies of a text are looked up within a window: a text stored many times over the years
    # (an empty one) is read for that window only.
    op.drop_index("ix_articles_content_hash", table_name="articles")
    op.create_index(
        "ix_articles_content_hash_published_at", "articles", ["content_hash", "published_at"]
    )
    op.create_table(
        "story_keys",
        sa.Column("band_key", sa.BigInteger(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("article_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("band_key", "published_at", "article_id", name="pk_story_keys"),
        sqlite_with_rowid=False,
    )
    # Filled unordered into a plain table first, then copied over in key order: appending to
    # the keyed table's last page is many times faster than millions of scattered inserts.
    staging = sa.Table(
        "story_keys_staging",
        sa.MetaData(),
        sa.Column("band_key", sa.BigInteger()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
        sa.Column("article_id", sa.BigInteger()),
        prefixes=["TEMPORARY"],
    )
    connection = op.get_bind()
    staging.create(connection)
    _stage(connection, staging)
    op.execute(
        "INSERT INTO story_keys (band_key, published_at, article_id) "
        "SELECT band_key, published_at, article_id FROM story_keys_staging "
        "ORDER BY band_key, published_at, article_id"
    )
    staging.drop(connection)
    if connection.dialect.name == "postgresql":  # plans for the first lookups need statistics
        op.execute("ANALYZE story_keys")


def _stage(connection: sa.Connection, staging: sa.Table) -> None:
    """The keys of every placed article, a page of articles at a time."""
    articles = sa.table(
        "articles",
        sa.column("id"),
        sa.column("published_at"),  # untyped: copied as stored
        sa.column("signature"),
        sa.column("story_id"),
    )
    after = 0
    while True:
        page = connection.execute(
            sa.select(articles.c.id, articles.c.published_at, articles.c.signature)
            .where(articles.c.id > after, articles.c.story_id.is_not(None),
                   articles.c.signature.is_not(None))
            .order_by(articles.c.id)
            .limit(PAGE)
        ).all()  # fmt: skip
        if not page:
            return
        ids, published, signatures = zip(*page, strict=True)
        matrix = stored_band_keys(from_bytes_matrix(signatures)).tolist()
        _append(connection, staging.name, [
            (key, when, article)
            for article, when, row in zip(ids, published, matrix, strict=True)
            for key in row
        ])  # fmt: skip
        after = ids[-1]


def _append(connection: sa.Connection, table: str, rows: list[tuple[object, ...]]) -> None:
    """Rows through the driver: COPY on PostgreSQL, a prepared executemany on SQLite."""
    columns = "band_key, published_at, article_id"
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if connection.dialect.name == "postgresql":
            with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES (?, ?, ?)", rows)
    finally:
        cursor.close()


def downgrade() -> None:
    op.drop_table("story_keys")
    op.drop_index("ix_articles_content_hash_published_at", table_name="articles")
    op.create_index("ix_articles_content_hash", "articles", ["content_hash"])
