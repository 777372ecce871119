"""Alembic environment: newswatch hands us an open connection (see pipeline.store.database)."""

from alembic import context

from pipeline.store.schema import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
