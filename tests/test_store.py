from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from pipeline import store
from pipeline.errors import DatabaseError
from pipeline.store.schema import Base, FeedRow


def test_migrations_build_exactly_the_schema_the_models_describe(engine):
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_the_schema_is_at_head_after_upgrade(engine):
    assert store.current_revision(engine) == store.head_revision()


def test_datetimes_come_back_aware_and_utc(engine):
    moment = datetime(2026, 2, 1, 12, 30, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            FeedRow.__table__.insert().values(
                name="x", config_url="u", url="u", created_at=moment, consecutive_failures=0
            )
        )
        stored = connection.execute(select(FeedRow.created_at)).scalar_one()
    assert stored == moment and stored.tzinfo is not None


def test_an_empty_sqlite_database_is_upgraded_on_first_use(sqlite_url):
    engine = store.connect(sqlite_url)
    store.ensure_schema(engine)
    assert store.current_revision(engine) == store.head_revision()


def test_an_empty_postgres_database_asks_for_an_explicit_upgrade(postgres_only_url):
    engine = store.connect(postgres_only_url)
    with pytest.raises(DatabaseError, match="newswatch db upgrade"):
        store.ensure_schema(engine)
    engine.dispose()


def test_an_unreachable_database_is_a_clear_error_without_the_password(unused_port):
    with pytest.raises(DatabaseError) as info:
        store.connect(f"postgresql://newswatch:hunter2@127.0.0.1:{unused_port}/nw")
    assert "cannot connect" in str(info.value) and "hunter2" not in str(info.value)


def test_a_nonsense_database_url():
    with pytest.raises(DatabaseError, match="not a database URL"):
        store.connect("definitely not a url")


def test_the_report_queries_run_on_this_database(engine):
    from pathlib import Path

    from sqlalchemy import text

    script = (Path(__file__).parent.parent / "sql/reports.sql").read_text()
    statements = [s for s in script.split(";") if "SELECT" in s]
    assert len(statements) == 6
    with engine.connect() as connection:
        for statement in statements:
            connection.execute(text(statement)).all()


FIRST_RUN = """
import sys, time
from pipeline.store import open_database
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
open_database(sys.argv[1]).dispose()
"""


def test_two_first_runs_at_once_on_a_new_sqlite_file_both_succeed(tmp_path):
    # Real processes, released at the same instant once their imports are done.
    for round_ in range(4):
        url = f"sqlite:///{tmp_path / f'new{round_}.db'}"
        start = f"{time.time() + 3:.3f}"
        runs = [
            subprocess.Popen(
                [sys.executable, "-c", FIRST_RUN, url, start],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        for run in runs:
            _, stderr = run.communicate(timeout=120)
            assert run.returncode == 0, stderr
        engine = store.connect(url)
        assert store.current_revision(engine) == store.head_revision()
        engine.dispose()
