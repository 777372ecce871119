"""Alembic migrations and the plain SQL that people read or run (installed as `newswatch_sql`)."""
