"""PostgreSQL at a million articles: feed counts and the outbox's enqueue query.

Run by hand:  python benchmarks/store_scale.py [--articles 1000000] [--postgres URL]

Fills a fresh schema with N articles over 200 feeds and one topic match per article (all but
1,000 already enqueued), then times, as EXPLAIN ANALYZE sees them (medians of 5):
- per-feed article counts: counting the articles table (the old `newswatch feeds` query, with
  its best plan, an index-only scan of the feed+GUID key) against the stored `article_count`;
- the enqueue query of alerts/outbox.py, with the partial index for unenqueued matches and
  without it (dropped for the comparison);
- what keeping the count costs an insert: one poll's worth of articles (50) for one feed.
Figures print and go to benchmarks/results/store_scale.json.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, event, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alerts.outbox import enqueue  # noqa: E402
from benchmarks.ingest import LOCAL_POSTGRES, machine  # noqa: E402
from benchmarks.report import write_results  # noqa: E402
from pipeline import store  # noqa: E402
from pipeline.parse import parse_bytes  # noqa: E402

FEEDS = 200
OLD_COUNTS = "SELECT feed_id, count(*) FROM articles GROUP BY feed_id"
NEW_COUNTS = "SELECT id, article_count FROM feeds"
ELPAIS = "ffp_660a52f7dc6a1948__elpais_english.xml"


def fill(connection: Connection, articles: int) -> None:
    statements = [
        "INSERT INTO feeds (id, name, config_url, url, created_at, consecutive_failures)"
        f" SELECT g, 'feed ' || g, 'u' || g, 'u' || g, now(), 0 FROM generate_series(1, {FEEDS}) g",
        "INSERT INTO stories (id, first_article_id, title, first_seen_at, last_seen_at,"
        f" article_count) SELECT g, g, 't', now(), now(), 1 FROM generate_series(1, {articles}) g",
        "INSERT INTO articles (id, feed_id, guid, url, canonical_url, title, summary, content,"
        " tags, published_at, published_at_missing, fetched_at, content_hash, story_id, origin)"
        f" SELECT g, 1 + g % {FEEDS}, 'guid-' || g, 'https://news.example/' || g,"
        " 'https://news.example/' || g, 'A headline of some length ' || g,"
        " repeat('summary words ', 20), repeat('content words ', 80), '[]',"
        " now() - g * interval '1 second', false, now(), md5(g::text), g, 'live'"
        f" FROM generate_series(1, {articles}) g",
        "INSERT INTO topic_matches (article_id, topic_id, score, explanation, matched_at,"
        " enqueued_at) SELECT g, 'topic-' || g % 50, 1.0, '{}', now(),"
        f" CASE WHEN g > {articles - 1000} THEN NULL ELSE now() END"
        f" FROM generate_series(1, {articles}) g",
        "UPDATE feeds SET article_count = c.n FROM (SELECT feed_id, count(*) AS n FROM articles"
        " GROUP BY feed_id) c WHERE c.feed_id = feeds.id",
        f"SELECT setval(pg_get_serial_sequence('articles', 'id'), {articles})",
    ]
    for statement in statements:
        connection.execute(text(statement))


def explain_ms(connection: Connection, sql: str, parameters: object = None) -> tuple[float, str]:
    times, plan = [], ""
    for _ in range(5):
        rows = connection.exec_driver_sql(f"EXPLAIN ANALYZE {sql}", parameters).scalars().all()
        plan = "\n".join(rows)
        times.append(float(re.search(r"Execution Time: ([\d.]+) ms", plan).group(1)))  # type: ignore[union-attr]
    return statistics.median(times), plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres", default=os.environ.get("NEWSWATCH_TEST_DATABASE_URL") or LOCAL_POSTGRES
    )
    args = parser.parse_args()
    schema = f"nwscale_{os.getpid()}"
    admin = store.connect(args.postgres)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))
    separator = "&" if "?" in args.postgres else "?"
    engine = store.connect(f"{args.postgres}{separator}options=-csearch_path%3D{schema}")
    try:
        store.upgrade(engine)
        started = time.perf_counter()
        with engine.begin() as connection:
            fill(connection, args.articles)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))  # as autovacuum would have by then
        print(f"{args.articles:,} articles and matches in {time.perf_counter() - started:.0f} s")
        figures: dict[str, object] = {"machine": machine(), "articles": args.articles}
        with engine.connect() as connection:
            figures["feed_counts_scan_ms"], _ = explain_ms(connection, OLD_COUNTS)
            figures["feed_counts_stored_ms"], _ = explain_ms(connection, NEW_COUNTS)
        sql, parameters = capture_enqueue(engine)
        with engine.begin() as connection:
            figures["enqueue_query_with_index_ms"], plan = explain_ms(connection, sql, parameters)
            figures["enqueue_plan_uses_index"] = "ix_topic_matches_unenqueued" in plan
            connection.execute(text("DROP INDEX ix_topic_matches_unenqueued"))
            figures["enqueue_query_without_index_ms"], _ = explain_ms(connection, sql, parameters)
            connection.rollback()
        figures["insert_50_articles_ms"] = insert_cost(engine)
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()
    for key, value in figures.items():
        print(f"  {key:34s} {value}")
    write_results("store_scale", figures)


def capture_enqueue(engine) -> tuple[str, object]:  # type: ignore[no-untyped-def]
    captured: list[tuple[str, object]] = []

    def capture(_conn, _cursor, statement, parameters, _context, _many):  # type: ignore[no-untyped-def]
        if not captured and "FROM topic_matches" in statement:
            captured.append((statement, parameters))
            raise _Captured

    event.listen(engine, "before_cursor_execute", capture)
    try:
        enqueue(engine, {}, datetime.now(UTC))
    except _Captured:
        pass
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return captured[0]


class _Captured(Exception):
    """Stops `enqueue` once its query is seen, before it changes anything."""


def insert_cost(engine) -> float:  # type: ignore[no-untyped-def]
    """Median time to insert one poll's worth of new articles (50) for one feed, count kept."""
    sample = parse_bytes(
        (
            ROOT / "tests/data/corpus/news_feeds/ffp_660a52f7dc6a1948__elpais_english.xml"
        ).read_bytes(),
        "https://elpais.example/rss",
    ).articles[:50]
    times = []
    for run in range(7):
        batch = [
            replace(a, feed_id=1, guid=f"{a.guid}-{run}", canonical_url=f"{a.canonical_url}-{run}")
            for a in sample
        ]
        started = time.perf_counter()
        store.store_articles(engine, batch)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


if __name__ == "__main__":
    main()
