"""What a topic's delivery rhythm costs: enqueueing matches whose alerts wait for a digest slot
or quiet hours, against plain immediate alerts; slot arithmetic; rendering a big digest.

Run by hand:  python benchmarks/delivery.py [--matches 20000]

Fills a fresh SQLite file with N articles (one story each) and one match per article over 50
topics, then times `enqueue` (medians of 3, a fresh copy of the matches each time) with every
topic immediate and with half the topics daily digests in Europe/London and the other half
immediate with quiet hours. Figures print and go to benchmarks/results/delivery.json.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alerts.message import render_scheduled_digest  # noqa: E402
from alerts.outbox import enqueue  # noqa: E402
from alerts.records import Alert  # noqa: E402
from benchmarks.ingest import machine  # noqa: E402
from benchmarks.report import write_results  # noqa: E402
from pipeline import store  # noqa: E402
from pipeline.delivery import Rhythm  # noqa: E402

TOPICS = 50
NOW = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # inside 22:00-07:00 London


def fill(path: Path, matches: int) -> None:
    engine = store.open_database(f"sqlite:///{path}")
    moment = NOW.replace(tzinfo=None).isoformat(sep=" ")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO feeds (id, name, config_url, url, created_at, consecutive_failures)"
                " VALUES (1, 'desk', 'u', 'u', :now, 0)"
            ),
            {"now": moment},
        )
        for table, columns, values in (
            (
                "stories",
                "id, first_article_id, title, first_seen_at, last_seen_at, article_count",
                "g, g, 't', :now, :now, 1",
            ),
            (
                "articles",
                "id, feed_id, guid, url, canonical_url, title, summary, content, tags,"
                " published_at, published_at_missing, fetched_at, content_hash, story_id, origin",
                "g, 1, 'g' || g, 'https://news.example/' || g, 'https://news.example/' || g,"
                " 'headline ' || g, 's', 'c', '[]', :now, 0, :now, g, g, 'live'",
            ),
            (
                "topic_matches",
                "article_id, topic_id, score, explanation, matched_at",
                f"g, 'topic-' || (g % {TOPICS}), (g % 100) / 100.0, '{{}}', :now",
            ),
        ):
            connection.execute(
                text(
                    f"WITH RECURSIVE s(g) AS (SELECT 1 UNION ALL SELECT g + 1 FROM s"
                    f" WHERE g < {matches}) INSERT INTO {table} ({columns}) SELECT {values} FROM s"
                ),
                {"now": moment},
            )
    engine.dispose()


def time_enqueue(template: Path, rhythms: dict[str, Rhythm]) -> float:
    times = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as scratch:
            copy = Path(scratch) / "copy.db"
            shutil.copy(template, copy)
            engine = store.open_database(f"sqlite:///{copy}")
            destinations = {f"topic-{i}": "console" for i in range(TOPICS)}
            started = time.perf_counter()
            enqueue(engine, destinations, NOW, rhythms=rhythms)
            times.append(time.perf_counter() - started)
            engine.dispose()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=20_000)
    args = parser.parse_args()
    digest = Rhythm(mode="digest", at="08:00", timezone="Europe/London")
    quiet = Rhythm(quiet_hours="22:00-07:00", timezone="Europe/London", urgent=0.9)
    mixed = {f"topic-{i}": digest if i % 2 else quiet for i in range(TOPICS)}
    figures: dict[str, object] = {"machine": machine(), "matches": args.matches}
    with tempfile.TemporaryDirectory() as scratch:
        template = Path(scratch) / "template.db"
        fill(template, args.matches)
        immediate = time_enqueue(template, {})
        rhythmic = time_enqueue(template, mixed)
    figures["enqueue_immediate_s"] = round(immediate, 3)
    figures["enqueue_digest_and_quiet_s"] = round(rhythmic, 3)
    figures["enqueue_immediate_per_s"] = round(args.matches / immediate)
    figures["enqueue_digest_and_quiet_per_s"] = round(args.matches / rhythmic)

    started, count = time.perf_counter(), 100_000
    for minute in range(count):
        digest.next_slot(NOW + timedelta(minutes=minute))
    figures["next_slot_per_s"] = round(count / (time.perf_counter() - started))

    alerts = [
        Alert(
            id=i,
            topic_id="t",
            topic_name="Topic",
            destination="console",
            attempts=0,
            origin="live",
            created_at=NOW,
            title=f"Headline {i}",
            url=f"https://news.example/{i}",
            feed_name="Desk",
            published_at=NOW,
            published_at_missing=False,
            score=(i % 100) / 100,
            explanation={"clauses": [{"hits": [{"term": "talks"}]}]},
            delivery="digest",
        )
        for i in range(1000)
    ]
    started = time.perf_counter()
    for _ in range(20):
        render_scheduled_digest("Topic", alerts, rhythm="daily at 08:00 Europe/London")
    figures["render_1000_alert_digest_ms"] = round((time.perf_counter() - started) / 20 * 1000, 1)

    for key, value in figures.items():
        print(f"  {key:34s} {value}")
    write_results("delivery", figures)


if __name__ == "__main__":
    main()
