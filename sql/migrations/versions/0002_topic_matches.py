"""topic matches, and articles.scored_at

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "topic_matches",
        sa.Column("id", ID, nullable=False),
        sa.Column("article_id", ID, nullable=False),
        sa.Column("topic_id", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("explanation", sa.JSON(), nullable=False),
        sa.Column("matched_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name="fk_topic_matches_article_id_articles",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_topic_matches"),
        sa.UniqueConstraint("article_id", "topic_id", name="uq_topic_matches_article_id_topic_id"),
    )
    op.create_index(
        "ix_topic_matches_topic_id_matched_at", "topic_matches", ["topic_id", "matched_at"]
    )
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("scored_at", TS, nullable=True))
        batch.create_index("ix_articles_scored_at", ["scored_at"])
    # Articles stored before topics existed count as seen: upgrading must not score (and later
    # alert on) the whole history.
    op.execute("UPDATE articles SET scored_at = fetched_at")


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_index("ix_articles_scored_at")
        batch.drop_column("scored_at")
    op.drop_table("topic_matches")
