"""delivery rhythm: how each alert goes out (immediate, digest, held); notices for operations

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # A plain ADD COLUMN (SQLite has it for a column with a constant default): no table copy.
    op.add_column(
        "alerts", sa.Column("delivery", sa.Text(), nullable=False, server_default="immediate")
    )
    op.create_table(
        "notices",
        sa.Column("id", ID, nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("blocks", sa.JSON(), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name="pk_notices"),
        sa.UniqueConstraint("key", name="uq_notices_key"),
    )
    op.create_index("ix_notices_status_next_attempt_at", "notices", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_notices_status_next_attempt_at", "notices")
    op.drop_table("notices")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("delivery")
