"""Ingest throughput: feed bytes -> stored article rows, next to plain `feedparser.parse`.

Run by hand:  python benchmarks/ingest.py [--repeat 5] [--postgres URL] [--no-profile]

The whole path is `pipeline.poll.poll` over every news feed of the test corpus as local files:
read, parse (the fast lxml path, or feedparser with its sanitiser off where the fast path
declines), clean the text, canonicalise URLs, drop in-batch duplicates, insert into a fresh
database (one transaction per feed), on SQLite and on PostgreSQL (`--postgres`, default
$NEWSWATCH_TEST_DATABASE_URL, else the local test server). The baseline is
`feedparser.parse(bytes)` with default settings on the same bytes, in one process, in the same
run. Figures are medians over the repetitions; then one SQLite poll runs under cProfile and the
time is split by stage, to show where it goes. Everything prints and goes to
benchmarks/results/ingest.json.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import platform
import pstats
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
LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
GOALS = {"sqlite": 4.0, "postgresql": 3.0}  # issue 12: poll path / feedparser defaults
# Where a profiled poll spends its time: cumulative time of the functions that start each stage.
STAGES = {
    "parse: fast path (lxml + replay)": ("pipeline/parsers/replay.py", "read_fast"),
    "parse: feedparser (fallbacks)": ("feedparser/api.py", "parse"),
    "parse: everything else (text cleaning, URLs, hashes)": ("pipeline/parse.py", "parse_feed"),
    "SQL: store articles, feed state, fetch log": ("pipeline/store/feeds.py", "record_fetch"),
    "SQL: register feeds": ("pipeline/store/feeds.py", "sync_feeds"),
    "whole poll": ("pipeline/poll.py", "poll"),
}


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


def profile_stages(engine: Engine, paths: list[Path]) -> dict[str, float]:
    """Share of a poll's time per stage (percent), from cProfile's cumulative times."""
    profiler = cProfile.Profile()
    profiler.enable()
    time_poll(engine, paths)
    profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    seconds = dict.fromkeys(STAGES, 0.0)
    for (filename, _, function), (_, _, _, cumulative, _) in stats.items():
        for stage, (where, name) in STAGES.items():
            if filename.endswith(where) and function == name:
                seconds[stage] += cumulative
    total = seconds.pop("whole poll")
    parse = "parse: everything else (text cleaning, URLs, hashes)"
    seconds[parse] -= seconds["parse: fast path (lxml + replay)"]
    seconds[parse] -= seconds["parse: feedparser (fallbacks)"]
    seconds["fetch, event loop, reports"] = total - sum(seconds.values())
    return {stage: round(100 * s / total, 1) for stage, s in seconds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--postgres", default=os.environ.get("NEWSWATCH_TEST_DATABASE_URL") or LOCAL_POSTGRES
    )
    parser.add_argument("--no-profile", action="store_true", help="skip the stage profile")
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
        "machine": machine(),
        "corpus": f"{len(paths)} news feeds, {total_bytes:,} bytes, {items} items",
        "repeat": args.repeat,
        "feedparser_default_items_per_s": round(baseline_rate),
    }
    print(f"corpus: {figures['corpus']}; median of {args.repeat} runs")
    print(f"feedparser.parse, default settings, 1 process:   {baseline_rate:7,.0f} items/s")

    with tempfile.TemporaryDirectory() as directory:
        targets = {"sqlite": sqlite_factory(directory)}
        if args.postgres and postgres_reachable(args.postgres):
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
            figures[f"ingest_{name}_goal"] = GOALS[name]
            met = "meets" if rate / baseline_rate >= GOALS[name] else "below"
            print(
                f"newswatch poll -> {name:10s}, 1 process:            {rate:7,.0f} items/s "
                f"= {rate / baseline_rate:.2f}x  ({runs[0][2]} rows stored; "
                f"{met} the {GOALS[name]:.0f}x goal)"
            )
        if not args.no_profile:
            index += 1
            engine, cleanup = targets["sqlite"](index)
            shares = profile_stages(engine, paths)
            cleanup()
            figures["profile_sqlite_poll_percent"] = shares
            print("where a SQLite poll spends its time (cProfile, cumulative time per stage):")
            for name, share in shares.items():
                print(f"  {name:55s} {share:5.1f}%")

    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {RESULTS / 'ingest.json'}")


if __name__ == "__main__":
    main()
