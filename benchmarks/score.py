"""Scoring throughput against 10, 100, 1,000 and 10,000 generated topics.

Run by hand:  python benchmarks/score.py [--repeat 5]

Articles are the 937 items of the corpus news feeds, measured twice: as feed items (title and
summary, what most feeds carry) and with their full text where the feed has it (most do here,
2,100 characters on average, some over 10,000).
Topics are generated from the corpus's own vocabulary, so their terms really occur: each is
`(A1 OR "A2 A3" OR A4*) AND (B1 OR B2 OR B3)`, a fifth with NEAR, a fifth with an exclusion.
Terms are drawn from distinct words, so most are uncommon, as real watch terms are, and some are
common. One process, one core. Figures are medians; they go to benchmarks/results/score.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.parse import parse_bytes  # noqa: E402
from pipeline.topics import Document, Matcher, compile_topic, words  # noqa: E402

CORPUS = ROOT / "tests/data/corpus/news_feeds"
RESULTS = ROOT / "benchmarks/results"
SIZES = (10, 100, 1_000, 10_000)


def load_documents() -> list[Document]:
    return [
        Document(a.title, a.summary, a.content)
        for path in sorted(CORPUS.iterdir())
        for a in parse_bytes(path.read_bytes(), "https://x.example/feed").articles
    ]


def generate_topics(documents: list[Document], count: int, seed: int = 7) -> list:
    rng = random.Random(seed)
    vocabulary = sorted(
        {w for d in documents for w in words(f"{d.title} {d.summary}") if len(w) > 3}
    )
    bigrams = sorted(
        {
            f"{a} {b}"
            for d in documents
            for a, b in pairwise(words(d.title))
            if len(a) > 3 and len(b) > 3
        }
    )
    topics = []
    for index in range(count):
        first = [
            rng.choice(vocabulary),
            f'"{rng.choice(bigrams)}"',
            rng.choice(vocabulary)[:5] + "*",
        ]
        second = [rng.choice(vocabulary) for _ in range(3)]
        left = " OR ".join(first[: rng.randint(1, 3)])
        right = " OR ".join(second[: rng.randint(1, 3)])
        operator = "NEAR/10" if index % 5 == 0 else "AND"
        exclude = rng.choice(vocabulary) if index % 5 == 1 else None
        topics.append(
            compile_topic(
                f"t{index}", f"T{index}", f"({left}) {operator} ({right})", exclude=exclude
            )
        )
    return topics


def measure(articles: list[Document], vocabulary_from: list[Document], repeat: int) -> dict:
    figures = {}
    base = None
    for size in SIZES:
        topics = generate_topics(vocabulary_from, size)
        started = time.perf_counter()
        matcher = Matcher(topics)
        build = time.perf_counter() - started
        runs, matched = [], 0
        for _ in range(repeat):
            started = time.perf_counter()
            matched = sum(len(matcher.match(d)) for d in articles)
            runs.append(time.perf_counter() - started)
        seconds = statistics.median(runs)
        base = base or seconds
        rate = len(articles) / seconds
        figures[str(size)] = {
            "articles_per_s": round(rate),
            "us_per_article": round(seconds / len(articles) * 1e6, 1),
            "cost_vs_10_topics": round(seconds / base, 2),
            "build_matcher_s": round(build, 3),
            "topic_matches": matched,
        }
        print(
            f"  {size:6d} topics: {rate:8,.0f} articles/s ({seconds / len(articles) * 1e6:6.1f} us "
            f"each, {seconds / base:5.2f}x the 10-topic cost; built in {build:.2f}s; "
            f"{matched} matches)"
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    documents = load_documents()
    figures: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (1 used), "
        f"Python {platform.python_version()}",
        "articles": len(documents),
        "repeat": args.repeat,
    }
    profiles = {
        "feed_items": [Document(d.title, d.summary) for d in documents],
        "full_text": documents,
    }
    for profile, articles in profiles.items():
        chars = sum(len(d.title) + len(d.summary) + len(d.content) for d in articles)
        print(f"{profile}: {len(articles)} articles, {chars / len(articles):,.0f} characters each")
        figures[profile] = measure(articles, documents, args.repeat)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "score.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {RESULTS / 'score.json'}")


if __name__ == "__main__":
    main()
