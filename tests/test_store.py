from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, func, select, text

from alerts.outbox import enqueue
from pipeline import store
from pipeline.config import FeedConfig
from pipeline.errors import DatabaseError
from pipeline.parse import parse_feed
from pipeline.records import Article, FeedSource
from pipeline.store.schema import ArticleRow, Base, FeedRow
from tests.conftest import CORPUS, fetched


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
    assert len(statements) == 7
    with engine.connect() as connection:
        for statement in statements:
            connection.execute(text(statement)).all()


CBS = CORPUS / "news_feeds/ffp_0c1cef22da7ddc10__cbsnews_world.xml"


def _cbs_feed(engine) -> FeedSource:
    feed = FeedConfig(name="cbs", url="https://cbs.example/rss")
    return store.sync_feeds(engine, [feed], datetime.now(UTC))[0].source


def _articles(feed_id: int, count: int, start: int = 0) -> list[Article]:
    parsed = parse_feed(fetched(CBS))
    return [replace(a, feed_id=feed_id) for a in parsed.articles[start : start + count]]


def _stored_articles(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(ArticleRow)).scalar_one()


def test_feed_article_counts_follow_every_insert_and_never_double_count(engine):
    source = _cbs_feed(engine)
    now = datetime.now(UTC)
    record = store.FetchRecord(source, now, "ok", now + timedelta(hours=1))
    assert len(store.record_fetch(engine, record, _articles(source.id, 3))) == 3
    assert store.record_fetch(engine, record, _articles(source.id, 3)) == [], "nothing new"
    assert len(store.store_articles(engine, _articles(source.id, 3, start=2))) == 2  # backfill
    (health,) = store.feed_health(engine)
    assert health.articles == _stored_articles(engine) == 5


def test_the_migration_counts_the_articles_already_stored(database_url):
    engine = store.connect(database_url)
    store.upgrade(engine, "0005")
    rows = [{**asdict(a), "tags": list(a.tags)} for a in _articles(1, 7)]
    with engine.begin() as connection:
        connection.execute(text(UNENQUEUED_FIXTURE[0].replace("now()", "CURRENT_TIMESTAMP")))
        connection.execute(ArticleRow.__table__.insert(), rows)
    store.upgrade(engine)
    (health,) = store.feed_health(engine)
    assert health.articles == 7
    engine.dispose()


def test_the_enqueue_query_reads_unenqueued_matches_through_the_partial_index(postgres_only_url):
    engine = store.connect(postgres_only_url)
    store.upgrade(engine)
    with engine.begin() as connection:
        for statement in UNENQUEUED_FIXTURE:
            connection.execute(text(statement))
    statements: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if "FROM topic_matches" in statement and statement.lstrip().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    assert enqueue(engine, {"t": "#news"}, datetime.now(UTC)) == 10
    event.remove(engine, "before_cursor_execute", capture)
    statement, parameters = statements[0]
    with engine.connect() as connection:
        plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN {statement}", parameters).scalars())
    engine.dispose()
    assert "ix_topic_matches_unenqueued" in plan, plan


# 20,000 matches of which the last 10 are not enqueued yet, on 20,000 one-article stories.
UNENQUEUED_FIXTURE = [
    "INSERT INTO feeds (id, name, config_url, url, created_at, consecutive_failures)"
    " VALUES (1, 'f', 'u', 'u', now(), 0)",
    "INSERT INTO stories (id, first_article_id, title, first_seen_at, last_seen_at,"
    " article_count) SELECT g, g, 't', now(), now(), 1 FROM generate_series(1, 20000) g",
    "INSERT INTO articles (id, feed_id, guid, url, canonical_url, title, summary, content, tags,"
    " published_at, published_at_missing, fetched_at, content_hash, story_id, origin)"
    " SELECT g, 1, 'g' || g, 'https://x.example/' || g, 'https://x.example/' || g, 't', 's',"
    " 'c', '[]', now(), false, now(), 'h', g, 'live' FROM generate_series(1, 20000) g",
    "INSERT INTO topic_matches (article_id, topic_id, score, explanation, matched_at,"
    " enqueued_at) SELECT g, 't', 1.0, '{}', now(), CASE WHEN g > 19990 THEN NULL ELSE now()"
    " END FROM generate_series(1, 20000) g",
    "ANALYZE",
]


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
