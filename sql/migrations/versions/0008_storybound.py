"""story_keys: the LSH bucket keys of placed articles, so story candidates are looked up

A batch spread over a year read back every stored article of the year to compare with; with
the keys stored, it reads only articles that share a bucket key. The keys of articles already
placed are computed from their stored signatures, a page of articles at a time (bounded memory
at any table size).

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from pipeline.stories import from_bytes_matrix, stored_band_keys

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PAGE = 20_000  # articles per read: 320,000 key rows per write


def upgrade() -> None:
    op.create_table(
        "story_keys",
        sa.Column("band_key", sa.BigInteger(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("article_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("band_key", "published_at", "article_id", name="pk_story_keys"),
        sqlite_with_rowid=False,
    )
    keys = sa.table(  # untyped, as `articles` below: times are copied as stored
        "story_keys", sa.column("band_key"), sa.column("published_at"), sa.column("article_id")
    )
    articles = sa.table(
        "articles",
        sa.column("id"),
        sa.column("published_at"),
        sa.column("signature"),
        sa.column("story_id"),
    )
    connection, after = op.get_bind(), 0
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
        matrix = stored_band_keys(from_bytes_matrix(signatures))
        connection.execute(
            keys.insert(),
            [
                {"band_key": key, "published_at": when, "article_id": article}
                for article, when, row in zip(ids, published, matrix.tolist(), strict=True)
                for key in row
            ],
        )
        after = ids[-1]


def downgrade() -> None:
    op.drop_table("story_keys")
