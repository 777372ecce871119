"""Precision and recall of story assignment on near-duplicate pairs and hard non-pairs.

Run by hand:  python benchmarks/story_eval.py   (tests/test_stories.py enforces the figures)

Pairs are built from the real articles of the corpus news feeds, deterministically:
- near-duplicates: each of 120 sampled articles against four syndicated variants of itself (the
  title re-written, the summary truncated to 60%, a byline added, a "Reuters -" wire prefix),
  plus the articles that really appear in two corpus feeds (TIME World and TIME Tech share some);
- non-pairs: distinct articles that share at least three content words (same-topic pairs, the
  hard case), sampled.
Writes benchmarks/results/story_eval.json.
"""

from __future__ import annotations

import logging
import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_results  # noqa: E402
from pipeline.parse import parse_bytes  # noqa: E402
from pipeline.records import Article  # noqa: E402
from pipeline.stories import StoryIndex, signature  # noqa: E402
from pipeline.topics import words  # noqa: E402

CORPUS = ROOT / "tests/data/corpus/news_feeds"
STOPWORDS = {
    "the",
    "a",
    "an",
    "of",
    "to",
    "in",
    "and",
    "for",
    "on",
    "at",
    "with",
    "by",
    "from",
    "as",
    "is",
    "are",
    "was",
    "were",
    "be",
    "has",
    "have",
    "it",
    "its",
    "that",
    "this",
    "after",
    "over",
    "into",
    "says",
    "said",
    "new",
}
NOW = datetime(2026, 2, 18, tzinfo=UTC)


@dataclass(frozen=True)
class Pair:
    kind: str
    same: bool
    a: tuple[str, str]
    b: tuple[str, str]


def corpus_articles() -> list[Article]:
    articles = [
        a
        for path in sorted(CORPUS.iterdir())
        for a in parse_bytes(path.read_bytes(), "https://x.example/").articles
    ]
    return [a for a in articles if len(words(f"{a.title} {a.summary}")) >= 12]


def variants(title: str, summary: str) -> dict[str, tuple[str, str]]:
    head, body = title.split(), summary.split()
    return {
        "retitled": (" ".join(head[2:] or head) + " - sources say", summary),
        "truncated": (title, " ".join(body[: max(3, int(len(body) * 0.6))]) + "…"),
        "byline": (title, "By Staff Reporter, Associated Press — " + summary),
        "wire prefix": ("Reuters - " + title, "LONDON (Reuters) - " + summary),
    }


def pairs(seed: int = 5005) -> list[Pair]:
    rng = random.Random(seed)
    articles = corpus_articles()
    by_text: dict[str, list[Article]] = {}
    for article in articles:
        by_text.setdefault(article.title.casefold(), []).append(article)
    unique = [group[0] for group in by_text.values()]
    found = [
        Pair("real copy", True, (g[0].title, g[0].summary), (g[1].title, g[1].summary))
        for g in by_text.values()
        if len(g) > 1
    ]
    for article in rng.sample(unique, 120):
        for kind, variant in variants(article.title, article.summary).items():
            found.append(Pair(kind, True, (article.title, article.summary), variant))
    content = {
        id(a): {w for w in words(f"{a.title} {a.summary}") if w not in STOPWORDS and len(w) > 3}
        for a in unique
    }
    hard = [(a, b) for a, b in combinations(unique, 2) if len(content[id(a)] & content[id(b)]) >= 3]
    for a, b in rng.sample(hard, min(600, len(hard))):
        found.append(Pair("same topic", False, (a.title, a.summary), (b.title, b.summary)))
    return found


def same_story(a: tuple[str, str], b: tuple[str, str]) -> bool:
    index = StoryIndex()
    index.add(1, 1, signature(*a), "a", NOW)
    return index.find(signature(*b), "b", NOW) is not None


def evaluate() -> dict[str, object]:
    results = [(pair, same_story(pair.a, pair.b)) for pair in pairs()]
    tp = sum(1 for p, got in results if p.same and got)
    fp = [p for p, got in results if not p.same and got]
    fn = [p for p, got in results if p.same and not got]
    by_kind: dict[str, list[int]] = {}
    for pair, got in results:
        by_kind.setdefault(pair.kind, [0, 0])
        by_kind[pair.kind][0] += got == pair.same
        by_kind[pair.kind][1] += 1
    return {
        "pairs": len(results),
        "positives": sum(1 for p, _ in results if p.same),
        "precision": tp / (tp + len(fp)) if tp + len(fp) else 1.0,
        "recall": tp / (tp + len(fn)) if tp + len(fn) else 1.0,
        "correct_by_kind": {k: f"{c}/{n}" for k, (c, n) in by_kind.items()},
        "false_positives": [(p.a[0], p.b[0]) for p in fp],
        "false_negatives": [(p.kind, p.a[0], p.b[0]) for p in fn],
    }


def main() -> None:
    logging.disable(logging.WARNING)
    report = evaluate()
    print(
        f"{report['pairs']} pairs ({report['positives']} near-duplicates): "
        f"precision {report['precision']:.3f}, recall {report['recall']:.3f}"
    )
    for kind, score in report["correct_by_kind"].items():  # type: ignore[union-attr]
        print(f"  {kind:12s} {score} correct")
    for a, b in report["false_positives"]:  # type: ignore[union-attr]
        print(f"  false positive: {a!r} ~ {b!r}")
    for kind, a, b in report["false_negatives"]:  # type: ignore[union-attr]
        print(f"  missed ({kind}): {a!r} ~ {b!r}")
    write_results("story_eval", report)


if __name__ == "__main__":
    main()
