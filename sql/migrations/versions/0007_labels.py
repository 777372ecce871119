"""labels and story mutes from people reading alerts; recent Slack request signatures

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "labels",
        sa.Column("id", ID, nullable=False),
        sa.Column("topic_id", sa.Text(), nullable=False),
        sa.Column("article_id", ID, nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("labelled_by", sa.Text(), nullable=False),
        sa.Column("labelled_by_id", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("labelled_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name="fk_labels_article_id_articles",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_labels"),
        sa.UniqueConstraint("topic_id", "article_id", name="uq_labels_topic_id_article_id"),
    )
    op.create_index("ix_labels_labelled_at", "labels", ["labelled_at"])
    op.create_table(
        "story_mutes",
        sa.Column("id", ID, nullable=False),
        sa.Column("topic_id", sa.Text(), nullable=False),
        sa.Column("story_id", sa.BigInteger(), nullable=False),
        sa.Column("muted_by", sa.Text(), nullable=False),
        sa.Column("muted_by_id", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("muted_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_story_mutes"),
        sa.UniqueConstraint("topic_id", "story_id", name="uq_story_mutes_topic_id_story_id"),
    )
    op.create_table(
        "slack_requests",
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("signature", name="pk_slack_requests"),
    )
    op.create_index("ix_slack_requests_received_at", "slack_requests", ["received_at"])


def downgrade() -> None:
    op.drop_table("slack_requests")
    op.drop_table("story_mutes")
    op.drop_index("ix_labels_labelled_at", table_name="labels")
    op.drop_table("labels")
