"""Scoring throughput against 10, 100, 1,000 and 10,000 generated topics.

Run by hand:  python benchmarks/score.py [--repeat 5] [--baseline PATH] [--sizes 1000 ...]

Articles are the 937 items of the corpus news feeds, measured twice: as feed items (title and
summary, what most feeds carry) and with their full text where the feed has it (most do here,
2,100 characters on average, some over 10,000).
Topics are generated from the corpus's own vocabulary, so their terms really occur: each is
`(A1 OR "A2 A3" OR A4*) AND (B1 OR B2 OR B3)`, a fifth with NEAR, a fifth with an exclusion.
Terms are drawn from distinct words, so most are uncommon, as real watch terms are, and some are
common. One process, one core. Figures are medians; they go to benchmarks/results/score.json.
Throughput is wall-clock; the comparison with a baseline is on CPU time (time.process_time), which
a busy machine disturbs far less than the clock on the wall.

--baseline PATH measures another checkout of newswatch (e.g. the main branch before a change:
`git worktree add /tmp/before main`) on the same machine in the same run: its
`pipeline/topics` package is loaded beside this one, both match the same articles with the same
generated topics, and their runs alternate, so a busy machine slows both alike. The figures and
the ratio (this checkout's time per article over the baseline's) go to the results file too.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pipeline.topics as current  # noqa: E402
from benchmarks.report import write_results  # noqa: E402
from pipeline.parse import parse_bytes  # noqa: E402
from pipeline.topics import Document, words  # noqa: E402

CORPUS = ROOT / "tests/data/corpus/news_feeds"
SIZES = (10, 100, 1_000, 10_000)


def load_documents() -> list[Document]:
    return [
        Document(a.title, a.summary, a.content)
        for path in sorted(CORPUS.iterdir())
        for a in parse_bytes(path.read_bytes(), "https://x.example/feed").articles
    ]


def generate_topics(
    documents: list[Document],
    count: int,
    seed: int = 7,
    compile_topic: Callable[..., Any] = current.compile_topic,
) -> list:
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


def load_baseline(checkout: Path) -> ModuleType:
    """Another checkout's `pipeline/topics` package, under its own name."""
    package = checkout / "pipeline" / "topics"
    if not (package / "__init__.py").is_file():
        raise SystemExit(f"{checkout}: no pipeline/topics package there")
    spec = importlib.util.spec_from_file_location(
        "baseline_topics", package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class Contender:
    """One implementation of the topics package, matching the articles of both profiles."""

    def __init__(self, name: str, package: ModuleType, documents: list[Document], size: int):
        self.name = name
        started = time.perf_counter()
        topics = generate_topics(documents, size, compile_topic=package.compile_topic)
        self.matcher = package.Matcher(topics)
        self.build = time.perf_counter() - started
        self.profiles = {
            "feed_items": [package.Document(d.title, d.summary) for d in documents],
            "full_text": [package.Document(d.title, d.summary, d.content) for d in documents],
        }
        self.runs: dict[str, list[float]] = {profile: [] for profile in self.profiles}
        self.cpu: dict[str, list[float]] = {profile: [] for profile in self.profiles}
        self.matched: dict[str, int] = {}

    def run(self, profile: str) -> None:
        articles, match = self.profiles[profile], self.matcher.match
        started, cpu = time.perf_counter(), time.process_time()
        self.matched[profile] = sum(len(match(a)) for a in articles)
        self.runs[profile].append(time.perf_counter() - started)
        self.cpu[profile].append(time.process_time() - cpu)

    def figures(self, profile: str, base: float | None = None) -> dict[str, object]:
        count = len(self.profiles[profile])
        seconds = statistics.median(self.runs[profile])
        figures: dict[str, object] = {
            "articles_per_s": round(count / seconds),
            "us_per_article": round(seconds / count * 1e6, 1),
            "cpu_us_per_article": round(statistics.median(self.cpu[profile]) / count * 1e6, 1),
            "build_matcher_s": round(self.build, 3),
            "topic_matches": self.matched[profile],
        }
        if base is not None:
            figures["cost_vs_10_topics"] = round(seconds / base, 2)
        return figures


def measure(
    documents: list[Document], sizes: Sequence[int], repeat: int, baseline: ModuleType | None
) -> dict[str, dict[str, object]]:
    """Per profile and topic count, this checkout's figures and (when given) the baseline's,
    their runs alternating."""
    results: dict[str, dict[str, object]] = {"feed_items": {}, "full_text": {}}
    smallest: dict[str, dict[str, float]] = {"current": {}, "baseline": {}}
    for size in sizes:
        contenders = [Contender("current", current, documents, size)]
        if baseline is not None:
            contenders.append(Contender("baseline", baseline, documents, size))
        for profile in results:
            for _ in range(repeat):
                for contender in contenders:
                    contender.run(profile)
            entry: dict[str, object] = {}
            for contender in contenders:
                seconds = statistics.median(contender.runs[profile])
                base = smallest[contender.name].setdefault(profile, seconds)
                entry[contender.name] = contender.figures(profile, base)
            if baseline is not None:
                now, before = (statistics.median(c.cpu[profile]) for c in contenders)
                entry["cpu_time_vs_baseline"] = round(now / before, 2)
            results[profile][str(size)] = entry
            line = ", ".join(
                f"{c.name} {len(documents) / statistics.median(c.runs[profile]):8,.0f}/s "
                f"({c.matched[profile]} matches)"
                for c in contenders
            )
            ratio = ""
            if baseline is not None:
                ratio = f"  CPU time {entry['cpu_time_vs_baseline']}x the baseline's"
            print(f"  {profile:10s} {size:6d} topics: {line}{ratio}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument(
        "--baseline", type=Path, help="another newswatch checkout to measure side by side"
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    baseline = load_baseline(args.baseline) if args.baseline else None
    documents = load_documents()
    figures: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (1 used), "
        f"Python {platform.python_version()}, load average "
        + " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "articles": len(documents),
        "repeat": args.repeat,
        "baseline": str(args.baseline) if args.baseline else None,
    }
    for profile, with_content in (("feed_items", False), ("full_text", True)):
        size = sum(len(d.title) + len(d.summary) + with_content * len(d.content) for d in documents)
        print(f"{profile}: {len(documents)} articles, {size / len(documents):,.0f} characters each")
    figures.update(measure(documents, args.sizes, args.repeat, baseline))
    write_results("score", figures)


if __name__ == "__main__":
    main()
