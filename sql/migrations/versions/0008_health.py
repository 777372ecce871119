"""feed health: when a feed last brought something new, when its body last changed, when its
failures began and where a permanent redirect moved it; query fingerprints per topic; an index
for each feed's latest publication times

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("last_new_at", TS, nullable=True))
        batch.add_column(sa.Column("body_hash", sa.Text(), nullable=True))
        batch.add_column(sa.Column("body_changed_at", TS, nullable=True))
        batch.add_column(sa.Column("failing_since", TS, nullable=True))
        batch.add_column(sa.Column("moved_from", sa.Text(), nullable=True))
        batch.add_column(sa.Column("moved_at", TS, nullable=True))
    # Best estimates from what is already stored, so a running install does not start blind.
    op.execute(
        "UPDATE feeds SET last_new_at = "
        "(SELECT max(fetched_at) FROM articles WHERE articles.feed_id = feeds.id)"
    )
    op.execute(
        "UPDATE feeds SET body_changed_at = (SELECT max(started_at) FROM fetch_log "
        "WHERE fetch_log.feed_id = feeds.id AND fetch_log.status = 'ok')"
    )
    op.execute(
        "UPDATE feeds SET failing_since = coalesce((SELECT min(started_at) FROM fetch_log "
        "WHERE fetch_log.feed_id = feeds.id AND fetch_log.status NOT IN ('ok', 'not_modified') "
        "AND (feeds.last_success_at IS NULL OR fetch_log.started_at > feeds.last_success_at)), "
        "feeds.last_fetch_at) WHERE consecutive_failures > 0"
    )
    op.create_index("ix_articles_feed_id_published_at", "articles", ["feed_id", "published_at"])
    op.create_table(
        "topic_queries",
        sa.Column("topic_id", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("changed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("topic_id", name="pk_topic_queries"),
    )


def downgrade() -> None:
    op.drop_table("topic_queries")
    op.drop_index("ix_articles_feed_id_published_at", "articles")
    with op.batch_alter_table("feeds") as batch:
        for column in (
            "moved_at",
            "moved_from",
            "failing_since",
            "body_changed_at",
            "body_hash",
            "last_new_at",
        ):
            batch.drop_column(column)
