"""Ingest throughput: feed bytes -> stored article rows, next to plain `feedparser.parse`.

Run by hand:  python benchmarks/ingest.py [--repeat 5] [--postgres URL] [--no-profile]

The whole path is `pipeline.poll.poll` over every news feed of the test corpus as local files:
read, parse (the fast lxml path, or feedparser with its sanitiser off where the fast path
declines), clean the text, canonicalise URLs, drop in-batch duplicates, insert into a fresh
database, on SQLite and on PostgreSQL (`--postgres`, default $NEWSWATCH_TEST_DATABASE_URL,
else the local test server): the poll as it runs, stages overlapping (29 feeds: parsing in
worker processes, storing in grouped transactions in a writer thread). The baseline is
`feedparser.parse(bytes)` with default settings on the same bytes, in one process, in the same
run, each repetition timing feedparser and then each database in turn so that both sides of
a ratio see the same load. Figures are medians over the repetitions; then each stage is timed
alone, one after the other, to show what the overlap hides. Everything prints and goes to
benchmarks/results/ingest.json.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import feedparser
from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_results  # noqa: E402
from pipeline import store  # noqa: E402
from pipeline.config import Config, FeedConfig  # noqa: E402
from pipeline.fetch import FetchLimits, read_local_feed  # noqa: E402
from pipeline.parse import read_document  # noqa: E402
from pipeline.poll import due_feeds, poll  # noqa: E402

CORPUS = ROOT / "tests/data/corpus/news_feeds"
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
GOALS = {"sqlite": 4.0, "postgresql": 3.0}  # issue 12: poll path / feedparser defaults
PARSE_LIMITS = {"max_bytes": 10_000_000, "max_items": 1000}


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def time_feedparser(paths: list[Path]) -> tuple[float, int]:
    bodies = [p.read_bytes() for p in paths]
    started = time.perf_counter()
    items = sum(len(feedparser.parse(body).entries) for body in bodies)
    return time.perf_counter() - started, items


def time_poll(engine: Engine, paths: list[Path]) -> tuple[float, int, int]:
    config = Config(
        feeds=[FeedConfig(name=p.name, url=str(p)) for p in paths],
    )
    started = time.perf_counter()
    result = poll(engine, config)
    elapsed = time.perf_counter() - started
    assert result.failed == 0, [r.error for r in result.reports if r.failed]
    return elapsed, result.articles_seen, len(result.new_article_ids)


def sqlite_factory(directory: str) -> Callable[[int], tuple[Engine, Callable[[], None]]]:
    def make(index: int) -> tuple[Engine, Callable[[], None]]:
        engine = store.connect(f"sqlite:///{directory}/bench-{index}.db")
        store.upgrade(engine)
        return engine, engine.dispose

    return make


def postgres_factory(url: str) -> Callable[[int], tuple[Engine, Callable[[], None]]]:
    def run(sql: str) -> None:
        admin = store.connect(url)
        with admin.begin() as connection:
            connection.execute(text(sql))
        admin.dispose()

    def make(index: int) -> tuple[Engine, Callable[[], None]]:
        schema = f"nwbench_{os.getpid()}_{index}"
        run(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
        separator = "&" if "?" in url else "?"
        engine = store.connect(f"{url}{separator}options=-csearch_path%3D{schema}")
        store.upgrade(engine)

        def cleanup() -> None:
            engine.dispose()
            run(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

        return engine, cleanup

    return make


def postgres_reachable(url: str) -> bool:
    try:
        engine = store.connect(url)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception as error:  # the benchmark still runs on SQLite; say why not PostgreSQL
        print(f"PostgreSQL at {url} not usable, measuring SQLite only: {error}")
        return False


def stage_seconds(engine: Engine, paths: list[Path]) -> dict[str, float]:
    """Each stage's time done alone, one after the other in this thread (the poll overlaps
    them: parsing in worker processes, storing in a thread): read the files, parse them,
    store each feed's articles, state and log row in a transaction of its own."""
    config = Config(feeds=[FeedConfig(name=p.name, url=str(p)) for p in paths])
    sources, _ = due_feeds(engine, config)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    fetched = [read_local_feed(source, FetchLimits()) for source in sources]
    seconds["read files"] = time.perf_counter() - started
    started = time.perf_counter()
    parsed = [read_document(document, **PARSE_LIMITS) for document in fetched]
    seconds["parse (fast path or feedparser) and clean"] = time.perf_counter() - started
    started = time.perf_counter()
    now = datetime.now(UTC)
    for document, result in zip(fetched, parsed, strict=True):
        record = store.FetchRecord(document.source, now, "ok", now, etag=document.etag)
        store.record_fetch(engine, record, result.articles)
    seconds["store (SQL)"] = time.perf_counter() - started
    return {stage: round(value, 3) for stage, value in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--postgres", default=os.environ.get("NEWSWATCH_TEST_DATABASE_URL") or LOCAL_POSTGRES
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the stage timings")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)  # the corpus's malformed feeds warn on every run
    paths = sorted(CORPUS.iterdir())
    total_bytes = sum(p.stat().st_size for p in paths)

    with tempfile.TemporaryDirectory() as directory:
        targets = {"sqlite": sqlite_factory(directory)}
        if args.postgres and postgres_reachable(args.postgres):
            targets["postgresql"] = postgres_factory(args.postgres)
        # Each repetition times feedparser and then every target, so that both sides of a
        # ratio run under the same load (the machine is shared; a load that comes and goes
        # between a block of baseline runs and a block of poll runs skews the ratio).
        baseline: list[tuple[float, int]] = []
        runs: dict[str, list[tuple[float, int, int]]] = {name: [] for name in targets}
        index = 0
        for _ in range(args.repeat):
            baseline.append(time_feedparser(paths))
            for name, make_engine in targets.items():
                index += 1
                engine, cleanup = make_engine(index)
                runs[name].append(time_poll(engine, paths))
                cleanup()
        items = baseline[0][1]
        baseline_rate = items / statistics.median(t for t, _ in baseline)
        figures: dict[str, object] = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine(),
            "corpus": f"{len(paths)} news feeds, {total_bytes:,} bytes, {items} items",
            "repeat": args.repeat,
            "feedparser_default_items_per_s": round(baseline_rate),
        }
        print(f"corpus: {figures['corpus']}; median of {args.repeat} runs, interleaved")
        print(f"feedparser.parse, default settings, 1 process:   {baseline_rate:7,.0f} items/s")
        for name, timed in runs.items():
            rate = timed[0][1] / statistics.median(t for t, _, _ in timed)
            figures[f"ingest_{name}_items_per_s"] = round(rate)
            figures[f"ingest_{name}_speedup"] = round(rate / baseline_rate, 2)
            figures[f"ingest_{name}_rows_stored"] = timed[0][2]
            figures[f"ingest_{name}_goal"] = GOALS[name]
            met = "meets" if rate / baseline_rate >= GOALS[name] else "below"
            print(
                f"newswatch poll -> {name:10s}, whole poll path:      {rate:7,.0f} items/s "
                f"= {rate / baseline_rate:.2f}x  ({timed[0][2]} rows stored; "
                f"{met} the {GOALS[name]:.0f}x goal)"
            )
        if not args.no_profile:
            index += 1
            engine, cleanup = targets["sqlite"](index)
            stages = stage_seconds(engine, paths)
            cleanup()
            figures["sqlite_stages_alone_s"] = stages
            print("each stage alone, one after the other (SQLite):")
            for name, value in stages.items():
                print(f"  {name:45s} {value:6.3f} s")

    write_results("ingest", figures)


if __name__ == "__main__":
    main()
