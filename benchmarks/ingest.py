"""Ingest throughput: feed bytes -> stored article rows, next to plain `feedparser.parse`.

Run by hand:  python benchmarks/ingest.py [--repeat 5] [--postgres URL]

The whole path is `pipeline.poll.poll` over every news feed of the test corpus as local files:
read, parse (feedparser with its sanitiser off, then our own text cleaning), canonicalise URLs,
drop in-batch duplicates, insert into a fresh database (one transaction per feed). The baseline
is `feedparser.parse(bytes)` with default settings on the same bytes, in one process. Figures are
medians over the repetitions; they print and go to benchmarks/results/ingest.json.
"""

from __future__ import annotations

import argparse
import json
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

from pipeline import store  # noqa: E402
from pipeline.config import Config, FeedConfig  # noqa: E402
from pipeline.poll import poll  # noqa: E402

CORPUS = ROOT / "tests/data/corpus/news_feeds"
RESULTS = ROOT / "benchmarks/results"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--postgres", default=os.environ.get("NEWSWATCH_TEST_DATABASE_URL"))
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)  # the corpus's malformed feeds warn on every run
    paths = sorted(CORPUS.iterdir())
    total_bytes = sum(p.stat().st_size for p in paths)

    baseline = [time_feedparser(paths) for _ in range(args.repeat)]
    items = baseline[0][1]
    baseline_rate = items / statistics.median(t for t, _ in baseline)
    figures: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "corpus": f"{len(paths)} news feeds, {total_bytes:,} bytes, {items} items",
        "repeat": args.repeat,
        "feedparser_default_items_per_s": round(baseline_rate),
    }
    print(f"corpus: {figures['corpus']}; median of {args.repeat} runs")
    print(f"feedparser.parse, default settings, 1 process:   {baseline_rate:7,.0f} items/s")

    with tempfile.TemporaryDirectory() as directory:
        targets = {"sqlite": sqlite_factory(directory)}
        if args.postgres:
            targets["postgresql"] = postgres_factory(args.postgres)
        index = 0
        for name, make_engine in targets.items():
            runs = []
            for _ in range(args.repeat):
                index += 1
                engine, cleanup = make_engine(index)
                runs.append(time_poll(engine, paths))
                cleanup()
            rate = runs[0][1] / statistics.median(t for t, _, _ in runs)
            figures[f"ingest_{name}_items_per_s"] = round(rate)
            figures[f"ingest_{name}_speedup"] = round(rate / baseline_rate, 2)
            figures[f"ingest_{name}_rows_stored"] = runs[0][2]
            print(
                f"newswatch poll -> {name:10s}, 1 process:            {rate:7,.0f} items/s "
                f"= {rate / baseline_rate:.2f}x  ({runs[0][2]} rows stored)"
            )

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {RESULTS / 'ingest.json'}")


if __name__ == "__main__":
    main()
