"""Story assignment: articles per second, and memory for 50,000 articles in the window.

Run by hand:  python benchmarks/stories.py [--articles 50000]

Articles are generated from the corpus vocabulary: distinct stories of a 10-word title and a
30-word summary, and every fourth article a syndicated copy (re-titled, truncated, byline, wire
prefix) of an earlier one. Each is placed with the in-memory index exactly as
pipeline.store.stories does (signature, find, add), one core, over a 72-hour window that holds
all of them. Throughput is timed on its own; memory is measured on a second pass with tracemalloc.
Figures go to benchmarks/results/stories.json.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import random
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_results  # noqa: E402
from benchmarks.story_eval import corpus_articles, variants  # noqa: E402
from pipeline.stories import StoryIndex, signature  # noqa: E402


def generate(count: int, seed: int = 7) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    vocabulary = sorted({w for a in corpus_articles() for w in f"{a.title} {a.summary}".split()})
    texts: list[tuple[str, str]] = []
    for i in range(count):
        if i % 4 == 3:
            original = texts[rng.randrange(len(texts))]
            texts.append(rng.choice(list(variants(*original).values())))
        else:
            title = " ".join(rng.choices(vocabulary, k=10))
            texts.append((title, " ".join(rng.choices(vocabulary, k=30))))
    return texts


def place(texts: list[tuple[str, str]], start: datetime) -> tuple[StoryIndex, int]:
    index = StoryIndex(timedelta(hours=72))
    step = timedelta(hours=72) / len(texts)
    joined = 0
    for i, (title, summary) in enumerate(texts):
        when = start + step * i
        sig = signature(title, summary)
        found = index.find(sig, f"hash{i}", when)
        joined += found is not None
        index.add(i, found[0] if found else i, sig, f"hash{i}", when)
    return index, joined


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=50_000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    texts = generate(args.articles)
    start = datetime(2026, 2, 16, tzinfo=UTC)
    began = time.perf_counter()
    _, joined = place(texts, start)
    elapsed = time.perf_counter() - began
    tracemalloc.start()
    index, _ = place(texts, start)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(index) == len(texts)

    figures = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (1 used), "
        f"Python {platform.python_version()}",
        "articles": len(texts),
        "articles_per_s": round(len(texts) / elapsed),
        "joined_existing_story": joined,
        "expected_copies": len(texts) // 4,
        "index_memory_mb": round(current / 1e6, 1),
        "peak_memory_mb": round(peak / 1e6, 1),
    }
    print(
        f"{len(texts):,} articles placed at {figures['articles_per_s']:,} articles/s; "
        f"{joined:,} joined a story (about {len(texts) // 4:,} copies were generated); "
        f"index memory {figures['index_memory_mb']} MB (peak {figures['peak_memory_mb']} MB)"
    )
    write_results("stories", figures)


if __name__ == "__main__":
    main()
