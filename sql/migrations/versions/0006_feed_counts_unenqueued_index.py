"""article counts kept on feeds; a partial index for matches not yet enqueued

At a million articles `newswatch feeds` counted articles per feed with a scan of the articles
table, and the outbox's enqueue query scanned `topic_matches` for `enqueued_at IS NULL`.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UNENQUEUED = sa.text("enqueued_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(
            sa.Column("article_count", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE feeds SET article_count = "
        "(SELECT count(*) FROM articles WHERE articles.feed_id = feeds.id)"
    )
    op.create_index(
        "ix_topic_matches_unenqueued",
        "topic_matches",
        ["id"],
        postgresql_where=UNENQUEUED,
        sqlite_where=UNENQUEUED,
    )


def downgrade() -> None:
    op.drop_index("ix_topic_matches_unenqueued", "topic_matches")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("article_count")
