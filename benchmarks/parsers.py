"""Parse speed and path per corpus file: the fast path against feedparser, on the same bytes.

Run by hand:  python benchmarks/parsers.py [--repeat 5]

For every file of the test corpus (news feeds and edge cases) it prints which path read it (the
fast path, or feedparser and why) and times `parse_feed` both ways (bytes to `Article` records,
text cleaning included) next to `feedparser.parse` with default settings. Figures are medians
over the repetitions; they go to benchmarks/results/parsers.json.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import feedparser

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ingest import machine  # noqa: E402
from benchmarks.report import write_results  # noqa: E402
from pipeline.errors import NotAFeed  # noqa: E402
from pipeline.parse import parse_bytes  # noqa: E402

CORPUS = ROOT / "tests/data/corpus"
URL = "https://feeds.example.net/feed.xml"


def median_seconds(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    rows = []
    totals = {"fast": 0.0, "feedparser_only": 0.0, "feedparser_default": 0.0}
    news_items = 0
    for kind in ("news_feeds", "edge_cases"):
        for path in sorted((CORPUS / kind).iterdir()):
            body = path.read_bytes()
            try:
                parsed = parse_bytes(body, URL)
            except NotAFeed as error:
                rows.append({"file": f"{kind}/{path.name}", "path": "none", "why": str(error)})
                continue
            row: dict[str, object] = {
                "file": f"{kind}/{path.name}",
                "path": parsed.parser,
                "why": parsed.fallback,
                "articles": len(parsed.articles),
            }
            if kind == "news_feeds":
                fast = median_seconds(lambda b=body: parse_bytes(b, URL), args.repeat)
                only = median_seconds(
                    lambda b=body: parse_bytes(b, URL, fast_path=False), args.repeat
                )
                default = median_seconds(lambda b=body: feedparser.parse(b), args.repeat)
                row["newswatch_ms"] = round(fast * 1000, 2)
                row["feedparser_only_ms"] = round(only * 1000, 2)
                row["feedparser_default_ms"] = round(default * 1000, 2)
                totals["fast"] += fast
                totals["feedparser_only"] += only
                totals["feedparser_default"] += default
                news_items += len(parsed.articles)
            rows.append(row)
            print(f"{row['file'][:62]:62s} {row['path']:10s} {row.get('why') or ''}")
    summary = {
        name: round(news_items / seconds) for name, seconds in totals.items()
    }  # articles per second over the 29 news feeds
    print(f"\nnews feeds, {news_items} articles, median of {args.repeat} runs, 1 process:")
    print(f"  parse_feed (fast path where it applies): {summary['fast']:8,} articles/s")
    print(f"  parse_feed, feedparser only:             {summary['feedparser_only']:8,} articles/s")
    print(f"  feedparser.parse, default settings:      {summary['feedparser_default']:8,} items/s")
    accepted = sum(1 for r in rows if r["path"] == "fast" and r["file"].startswith("news"))
    print(f"  news feeds on the fast path: {accepted} of 29")
    figures = {"machine": machine(), "repeat": args.repeat, "per_second": summary, "files": rows}
    figures["news_feeds_on_fast_path"] = accepted
    write_results("parsers", figures)


if __name__ == "__main__":
    main()
