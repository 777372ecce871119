"""Precision and recall of the example topics on the labelled set, for the tuning and test halves.

Run by hand:  python benchmarks/topic_eval.py [--show-test-misses | --tuning-only]

The set is tests/data/topic_eval/: every item of the corpus news feeds, the feeds held out by
rounds 3 to 5 (round3/ ...), and a few added items, labelled by reading against each
topic's written definition (definitions.md), and split by feed into a tuning half and a test
half (split.csv).
Queries are tuned on the tuning half only, so this prints the tuning half's misses and only the
test half's figures (pass --show-test-misses to list those too, once tuning is over). The
figures of earlier rounds' test halves (now tuned on, see definitions.md) are reported apart,
for comparison with those rounds. Precision and recall are over English items (the example topics
are English queries); non-English items are reported apart. Figures go to
benchmarks/results/topic_eval.json.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_results  # noqa: E402
from benchmarks.topic_split import ROUNDS  # noqa: E402
from pipeline.config import compile_topics, load_config  # noqa: E402
from pipeline.parse import parse_bytes  # noqa: E402
from pipeline.topics import Document, Matcher  # noqa: E402
from pipeline.topics.boilerplate import learn_boilerplate  # noqa: E402

DATA = ROOT / "tests/data"
LABELS = DATA / "topic_eval/labels.csv"
SPLIT = DATA / "topic_eval/split.csv"
CONFIG = ROOT / "examples/newswatch.yaml"
HALVES = ("tuning", "test")
# split.csv columns of the rounds before this one
EARLIER_ROUNDS = ("rounds_1_2", *(f"round_{n}" for n in ROUNDS[:-1]))
DEFENCE = "defence-secretary-meetings"
MOTIVATING = ("motivating-title-first-paragraph", "motivating-full-text", "motivating-title-dek")
HARD_NEGATIVE = "hard-negative-"


@dataclass(frozen=True, slots=True)
class Item:
    feed: str
    guid: str
    lang: str
    title: str
    half: str
    earlier_halves: dict[str, str]  # split.csv's column of each round -> its half in that round
    relevant: frozenset[str]  # topic ids
    predicted: frozenset[str]  # topic ids that passed


@dataclass
class Counts:
    true_positives: int = 0
    false_positives: list[str] = field(default_factory=list)
    false_negatives: list[str] = field(default_factory=list)

    @property
    def positives(self) -> int:
        return self.true_positives + len(self.false_negatives)

    @property
    def precision(self) -> float:
        predicted = self.true_positives + len(self.false_positives)
        return self.true_positives / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.positives if self.positives else 1.0

    def add(self, item: Item, topic: str) -> None:
        label, hit = topic in item.relevant, topic in item.predicted
        if label and hit:
            self.true_positives += 1
        elif hit:
            self.false_positives.append(item.title)
        elif label:
            self.false_negatives.append(item.title)


@dataclass(frozen=True, slots=True)
class Evaluation:
    topics: tuple[str, ...]
    items: tuple[Item, ...]

    def counts(self, half: str) -> dict[str, Counts]:
        """Per topic, over the half's English items."""
        return self._counts(self.in_half(half))

    def earlier_test_counts(self, round_column: str) -> dict[str, Counts]:
        """Per topic, over the English items of an earlier round's test half."""
        return self._counts([i for i in self.items if i.earlier_halves[round_column] == "test"])

    def _counts(self, items: Iterable[Item]) -> dict[str, Counts]:
        counts = {topic: Counts() for topic in self.topics}
        for item in items:
            if item.lang == "en":
                for topic in self.topics:
                    counts[topic].add(item, topic)
        return counts

    def in_half(self, half: str) -> list[Item]:
        return [i for i in self.items if i.half == half]

    def by_guid(self, guid: str) -> Item:
        return next(i for i in self.items if i.guid == guid)


def feed_documents(feed: str) -> dict[str, Document]:
    """The feed's items as the matcher sees them: with the feed's boilerplate blanked, as
    scoring does with the sentences a feed repeats."""
    path = DATA / feed
    parsed = parse_bytes(path.read_bytes(), "https://feeds.example.net/" + path.name)
    documents = {a.guid: Document(a.title, a.summary, a.content) for a in parsed.articles}
    boilerplate = learn_boilerplate(documents.values())
    return {guid: boilerplate.strip(document) for guid, document in documents.items()}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def evaluate(config: Path = CONFIG) -> Evaluation:
    """Every labelled item with its labels, its half, and the topics it passed."""
    matcher = Matcher(compile_topics(load_config(config).config))
    rows = _read_csv(LABELS)
    split = {row["feed"]: row for row in _read_csv(SPLIT)}
    columns = [c for c in rows[0] if c not in ("feed", "guid", "lang", "title")]
    topics = tuple(column.replace("_", "-") for column in columns)
    feeds: dict[str, dict[str, Document]] = {}
    items = []
    for row in rows:
        if row["feed"] not in feeds:
            feeds[row["feed"]] = feed_documents(row["feed"])
        document = feeds[row["feed"]][row["guid"]]
        relevant = frozenset(t for t, c in zip(topics, columns, strict=True) if row[c] == "1")
        predicted = frozenset(m.topic.id for m in matcher.match(document) if m.passed)
        items.append(
            Item(
                row["feed"],
                row["guid"],
                row["lang"],
                row["title"],
                split[row["feed"]]["half"],
                {k: v for k, v in split[row["feed"]].items() if k.startswith("round")},
                relevant,
                predicted & set(topics),
            )
        )
    return Evaluation(topics, tuple(items))


def _counts_report(counts: dict[str, Counts], with_misses: bool) -> dict[str, object]:
    report: dict[str, object] = {}
    for topic, c in counts.items():
        entry: dict[str, object] = {
            "positives": c.positives,
            "predicted": c.true_positives + len(c.false_positives),
            "true_positives": c.true_positives,
            "precision": round(c.precision, 3),
            "recall": round(c.recall, 3),
        }
        if with_misses:
            entry["false_positives"] = c.false_positives
            entry["false_negatives"] = c.false_negatives
        report[topic] = entry
    return report


def _print_counts(counts: dict[str, Counts], misses: bool) -> None:
    for topic, c in counts.items():
        print(
            f"  {topic:28s} positives {c.positives:3d}  precision {c.precision:.2f}  "
            f"recall {c.recall:.2f}  (fp {len(c.false_positives)}, fn {len(c.false_negatives)})"
        )
        if misses:
            for title in c.false_positives:
                print(f"      false positive: {title}")
            for title in c.false_negatives:
                print(f"      missed:         {title}")


def _checks(evaluation: Evaluation) -> dict[str, object]:
    motivating = {g: DEFENCE in evaluation.by_guid(g).predicted for g in MOTIVATING}
    negatives = {
        i.guid: sorted(i.predicted) for i in evaluation.items if i.guid.startswith(HARD_NEGATIVE)
    }
    return {"motivating_article_caught": motivating, "hard_negatives_matched": negatives}


def _non_english(items: Iterable[Item]) -> dict[str, int]:
    items = [i for i in items if i.lang != "en"]
    return {
        "items": len(items),
        "relevant": sum(len(i.relevant) for i in items),
        "matched": sum(len(i.predicted) for i in items),
        "matched_rightly": sum(len(i.predicted & i.relevant) for i in items),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--show-test-misses", action="store_true", help="also list the test half's misses"
    )
    parser.add_argument(
        "--tuning-only",
        action="store_true",
        help="while tuning: the tuning half only, test figures neither shown nor written",
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    evaluation = evaluate()
    report: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": "examples/newswatch.yaml",
        "labels": "tests/data/topic_eval/labels.csv",
        "scope": "precision and recall over English items; non-English items apart",
    }
    for half in ("tuning",) if args.tuning_only else HALVES:
        items = evaluation.in_half(half)
        english = sum(1 for i in items if i.lang == "en")
        misses = half == "tuning" or args.show_test_misses
        counts = evaluation.counts(half)
        print(f"{half} half: {len(items)} items, {english} English")
        _print_counts(counts, misses)
        report[half] = {
            "items": len(items),
            "english_items": english,
            "topics": _counts_report(counts, with_misses=True),
            "non_english": _non_english(items),
        }
    if args.tuning_only:
        return
    for column in EARLIER_ROUNDS:
        earlier = evaluation.earlier_test_counts(column)
        print(f"{column.replace('_', ' ')} test half (tuned on since):")
        _print_counts(earlier, misses=False)
        report[f"{column}_test_half"] = _counts_report(earlier, with_misses=False)
    checks = _checks(evaluation)
    report["checks"] = checks
    print("motivating article caught by the defence topic:", checks["motivating_article_caught"])
    print("hard negatives matched:", checks["hard_negatives_matched"])
    write_results("topic_eval", report)


if __name__ == "__main__":
    main()
