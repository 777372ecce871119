"""stories: near-duplicates across outlets; alerts note later copies

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", ID, nullable=False),
        sa.Column("first_article_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("first_seen_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("article_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_stories"),
    )
    op.create_index("ix_stories_last_seen_at", "stories", ["last_seen_at"])
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("story_id", ID, nullable=True))
        batch.add_column(sa.Column("signature", sa.LargeBinary(), nullable=True))
        batch.create_foreign_key(
            "fk_articles_story_id_stories", "stories", ["story_id"], ["id"], ondelete="SET NULL"
        )
        batch.create_index("ix_articles_story_id", ["story_id"])
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(
            sa.Column("also_reported_by", sa.JSON(), nullable=False, server_default="[]")
        )
        batch.add_column(
            sa.Column("needs_follow_up", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("needs_follow_up")
        batch.drop_column("also_reported_by")
    with op.batch_alter_table("articles") as batch:
        batch.drop_index("ix_articles_story_id")
        batch.drop_constraint("fk_articles_story_id_stories", type_="foreignkey")
        batch.drop_column("signature")
        batch.drop_column("story_id")
    op.drop_table("stories")
