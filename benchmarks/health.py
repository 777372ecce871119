"""Feed health at scale: a full `check_health` over 1,000 feeds and a million articles.

Run by hand:  python benchmarks/health.py [--articles 1000000] [--postgres URL] [--only sqlite]

Fills a fresh SQLite file and a fresh PostgreSQL schema in bulk SQL: 1,000 feeds with rhythms
of 5 minutes, 1 hour, 6 hours, 1 day and 1 week (a thousand articles each; every tenth feed
stopped ten gaps ago, some failing, some moved) and 50 topics with a match on every tenth
article. Then times the whole check (medians of 5), counts the problems it found, and shows
the plan of the per-feed read (it must be an index range, not a scan of the articles).
Figures print and go to benchmarks/results/health.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ingest import LOCAL_POSTGRES, machine  # noqa: E402
from benchmarks.report import write_results  # noqa: E402
from pipeline import store  # noqa: E402
from pipeline.config import Config  # noqa: E402
from pipeline.health import check_health  # noqa: E402

FEEDS = 1000
TOPICS = 50
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
GAP = (  # seconds between a feed's articles: 5 minutes, an hour, 6 hours, a day, a week
    "CASE {f} % 5 WHEN 0 THEN 300 WHEN 1 THEN 3600 WHEN 2 THEN 21600 WHEN 3 THEN 86400"
    " ELSE 604800 END"
)
# Every tenth feed stopped ten of its gaps ago.
OFFSET = "(CASE WHEN {f} % 10 = 0 THEN 10 ELSE 0 END + ({n} - 1) / " + str(FEEDS) + ")"
SAMPLE_READ = (
    "SELECT DISTINCT published_at FROM articles WHERE feed_id = 7 AND published_at <= '{now}'"
    " AND published_at >= '1995-01-01' ORDER BY published_at DESC LIMIT 50"
)


def config() -> Config:
    return Config.model_validate(
        {
            "feeds": [
                {"name": f"feed {f}", "url": f"https://news{f}.example/rss"}
                for f in range(1, FEEDS + 1)
            ],
            "topics": [
                {"id": f"topic-{t}", "name": f"Topic {t}", "query": f"word{t}"}
                for t in range(TOPICS)
            ],
        }
    )


def fill(connection: Connection, articles: int) -> None:
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        numbers = "generate_series(1, {count}) AS g(n)"
        at = "CAST(:now AS timestamptz) - ({seconds}) * interval '1 second'"
    else:
        numbers = "g"
        at = "datetime(:now, '-' || ({seconds}) || ' seconds')"
    series = (
        ""
        if postgres
        else "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {count}) "
    )
    now = NOW.isoformat() if postgres else NOW.strftime("%Y-%m-%d %H:%M:%S")
    feed = "(1 + (n - 1) % " + str(FEEDS) + ")"
    published = at.format(seconds=f"{OFFSET.format(f=feed, n='n')} * {GAP.format(f=feed)}")
    statements = [
        series.format(count=FEEDS)
        + "INSERT INTO feeds (id, name, config_url, url, created_at, last_fetch_at,"
        " last_success_at, last_status, last_http_status, consecutive_failures, failing_since,"
        " body_changed_at, moved_from, moved_at, article_count)"
        " SELECT n, 'feed ' || n, 'https://news' || n || '.example/rss',"
        " 'https://news' || n || '.example/rss', :now, :now, :now, 'ok', 200,"
        " CASE WHEN n % 50 = 1 THEN 5 ELSE 0 END,"
        f" CASE WHEN n % 50 = 1 THEN {at.format(seconds='7200')} END,"
        f" {at.format(seconds='60')},"
        " CASE WHEN n % 100 = 2 THEN 'https://old.example/' || n END,"
        f" CASE WHEN n % 100 = 2 THEN {at.format(seconds='86400')} END,"
        f" {articles // FEEDS} FROM {numbers.format(count=FEEDS)}",
        series.format(count=articles)
        + "INSERT INTO articles (id, feed_id, guid, url, canonical_url, title, summary, content,"
        " tags, published_at, published_at_missing, fetched_at, content_hash, origin)"
        f" SELECT n, {feed}, 'g' || n, 'https://a.example/' || n, 'https://a.example/' || n,"
        f" 'headline ' || n, 's', 'c', '[]', {published}, false, :now, 'h' || n, 'live'"
        f" FROM {numbers.format(count=articles)}",
        "INSERT INTO topic_matches (article_id, topic_id, score, explanation, matched_at,"
        f" enqueued_at) SELECT id, 'topic-' || ((id / 10) % {TOPICS}), 1.0, '{{}}',"
        " published_at, published_at FROM articles WHERE id % 10 = 0",
    ]
    for statement in statements:
        connection.execute(text(statement), {"now": now})


def plan(engine: Engine) -> str:
    now = NOW.isoformat() if engine.dialect.name == "postgresql" else f"{NOW:%Y-%m-%d %H:%M:%S}"
    explain = "EXPLAIN" if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN"
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(f"{explain} {SAMPLE_READ.format(now=now)}").all()
    return " | ".join(str(row[-1]) for row in rows)


def measure(engine: Engine, articles: int, repeat: int) -> dict[str, object]:
    store.upgrade(engine)
    started = time.perf_counter()
    with engine.begin() as connection:
        fill(connection, articles)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    filled = time.perf_counter() - started
    settings = config()
    runs, report = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        report = check_health(engine, settings, now=NOW)
        runs.append((time.perf_counter() - started) * 1000)
    assert report is not None
    read_plan = plan(engine)
    return {
        "fill_s": round(filled, 1),
        "check_ms_median": round(statistics.median(runs), 1),
        "check_ms_runs": [round(r, 1) for r in runs],
        "problems": dict(sorted(Counter(p.kind for p in report.problems).items())),
        "feed_states": dict(sorted(Counter(f.state for f in report.feeds).items())),
        "per_feed_read_plan": read_plan,
        "per_feed_read_uses_index": "ix_articles_feed_id_published_at" in read_plan,
    }


def on_postgres(url: str, articles: int, repeat: int) -> dict[str, object]:
    schema = f"nwhealth_{os.getpid()}"
    admin = store.connect(url)
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))
    separator = "&" if "?" in url else "?"
    engine = store.connect(f"{url}{separator}options=-csearch_path%3D{schema}")
    try:
        return measure(engine, articles, repeat)
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def on_sqlite(articles: int, repeat: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as folder:
        engine = store.connect(f"sqlite:///{Path(folder) / 'health.db'}")
        try:
            return measure(engine, articles, repeat)
        finally:
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument(
        "--postgres", default=os.environ.get("NEWSWATCH_TEST_DATABASE_URL") or LOCAL_POSTGRES
    )
    args = parser.parse_args()
    figures: dict[str, object] = {
        "machine": machine(),
        "feeds": FEEDS,
        "articles": args.articles,
        "topics": TOPICS,
        "matches": args.articles // 10,
    }
    if args.only != "postgresql":
        figures["sqlite"] = on_sqlite(args.articles, args.repeat)
    if args.only != "sqlite":
        figures["postgresql"] = on_postgres(args.postgres, args.articles, args.repeat)
    print(json.dumps(figures, indent=2))
    write_results("health", figures)


if __name__ == "__main__":
    main()
