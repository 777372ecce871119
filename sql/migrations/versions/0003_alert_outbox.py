"""the alert outbox

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", ID, nullable=False),
        sa.Column("topic_id", sa.Text(), nullable=False),
        sa.Column("story_id", sa.BigInteger(), nullable=False),
        sa.Column("article_id", ID, nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("origin", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("claimed_at", TS, nullable=True),
        sa.Column("claimed_by", sa.Text(), nullable=True),
        sa.Column("sent_at", TS, nullable=True),
        sa.Column("slack_channel", sa.Text(), nullable=True),
        sa.Column("slack_ts", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name="fk_alerts_article_id_articles",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.UniqueConstraint(
            "topic_id", "story_id", "destination", name="uq_alerts_topic_id_story_id_destination"
        ),
    )
    op.create_index("ix_alerts_status_next_attempt_at", "alerts", ["status", "next_attempt_at"])
    with op.batch_alter_table("topic_matches") as batch:
        batch.add_column(sa.Column("enqueued_at", TS, nullable=True))
    # Matches made before the outbox existed are history, not alerts owed.
    op.execute("UPDATE topic_matches SET enqueued_at = matched_at")


def downgrade() -> None:
    with op.batch_alter_table("topic_matches") as batch:
        batch.drop_column("enqueued_at")
    op.drop_table("alerts")
