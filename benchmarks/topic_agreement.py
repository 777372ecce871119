"""How far two readers agree on round 5's held-out items, and the topics measured against each.

Run by hand:  python benchmarks/topic_agreement.py

Round 5's 1,332 items were labelled twice, blind: by the readers whose labels are in labels.csv,
and later by six other readers from the same sheets and definitions (round5/second_reading.csv),
who saw neither the first labels nor their notes nor any matcher output. Taking one reader's
labels as the truth, the other reader's precision and recall say how far the labels themselves
can be trusted: a topic measured against one reader cannot be expected to do better than
another careful reader does. The frozen example topics are measured against the first reading,
the second, and the items on which the two agree (the disagreements left out). Figures go to
benchmarks/results/topic_agreement.json.
"""

from __future__ import annotations

import csv
import logging
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_results  # noqa: E402
from benchmarks.topic_eval import DATA, Evaluation, Item, evaluate  # noqa: E402

SECOND_READING = DATA / "topic_eval/round5/second_reading.csv"
ROUND = "topic_eval/round5/"


@dataclass(frozen=True, slots=True)
class Agreement:
    """Two sets of relevant items, and the precision and recall of `other` against `truth`."""

    truth: frozenset[tuple[str, str]]
    other: frozenset[tuple[str, str]]

    @property
    def both(self) -> int:
        return len(self.truth & self.other)

    @property
    def precision(self) -> float:
        return self.both / len(self.other) if self.other else 1.0

    @property
    def recall(self) -> float:
        return self.both / len(self.truth) if self.truth else 1.0

    def kappa(self, population: int) -> float:
        """Cohen's kappa: agreement beyond what two readers with these rates reach by chance."""
        disagree = len(self.truth ^ self.other)
        observed = 1 - disagree / population
        a, b = len(self.truth) / population, len(self.other) / population
        chance = a * b + (1 - a) * (1 - b)
        return (observed - chance) / (1 - chance) if chance < 1 else 1.0

    def figures(self) -> dict[str, float | int]:
        return {
            "truth_positives": len(self.truth),
            "other_positives": len(self.other),
            "both": self.both,
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
        }


def second_reading() -> dict[tuple[str, str], dict[str, str]]:
    with SECOND_READING.open(encoding="utf-8") as handle:
        return {(row["feed"], row["guid"]): row for row in csv.DictReader(handle)}


@dataclass(frozen=True, slots=True)
class ReadTwice:
    """One of round 5's items: the first reading's labels and matches, and the second's labels."""

    item: Item
    second_lang: str
    second_relevant: frozenset[str]

    @property
    def key(self) -> tuple[str, str]:  # a GUID may recur in an outlet's feeds of other days
        return self.item.feed, self.item.guid


def round_items(evaluation: Evaluation) -> list[ReadTwice]:
    """Round 5's items with the second reading's labels; every item must have been read twice."""
    second = second_reading()
    items = [i for i in evaluation.items if i.feed.startswith(ROUND)]
    keys = {(i.feed, i.guid) for i in items}
    if keys != set(second):
        raise SystemExit(
            f"{SECOND_READING.name} does not hold round 5's items: "
            f"{len(keys - set(second))} missing, {len(set(second) - keys)} unknown"
        )
    paired = []
    for item in items:
        row = second[item.feed, item.guid]
        relevant = frozenset(t for t in evaluation.topics if row[t.replace("-", "_")] == "1")
        paired.append(ReadTwice(item, row["lang"], relevant))
    return paired


def main() -> None:
    logging.disable(logging.WARNING)
    evaluation = evaluate()
    topics, paired = evaluation.topics, round_items(evaluation)
    # English by the first reading, as topic_eval counts: the example topics are English.
    english = [p for p in paired if p.item.lang == "en"]
    languages_differ = sum(1 for p in paired if (p.item.lang == "en") != (p.second_lang == "en"))
    report: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "items": len(paired),
        "english_items": len(english),
        "language_disagreements": languages_differ,
        "topics": {},
    }
    print(f"round 5: {len(paired)} items read twice, {len(english)} English (by the first)")
    print(
        f"{'topic':28s} {'1st':>4s} {'2nd':>4s} {'both':>4s}  2nd vs 1st P/R  kappa  "
        "topic vs 1st | vs 2nd | vs agreed"
    )
    for topic in topics:
        first = frozenset(p.key for p in english if topic in p.item.relevant)
        second = frozenset(p.key for p in english if topic in p.second_relevant)
        predicted = frozenset(p.key for p in english if topic in p.item.predicted)
        readers = Agreement(first, second)
        disputed = first ^ second
        versus = {
            "first_reading": Agreement(first, predicted),
            "second_reading": Agreement(second, predicted),
            "agreed_items": Agreement(first & second, predicted - disputed),
        }
        report["topics"][topic] = {  # type: ignore[index]
            "second_vs_first": readers.figures(),
            "kappa": round(readers.kappa(len(english)), 3),
            "topic": {name: a.figures() for name, a in versus.items()},
            "disputed": sorted(p.item.title for p in english if p.key in disputed),
        }
        cells = " | ".join(f"{a.precision:.2f}/{a.recall:.2f}" for a in versus.values())
        print(
            f"{topic:28s} {len(first):4d} {len(second):4d} {readers.both:4d}  "
            f"{readers.precision:.2f}/{readers.recall:.2f}      "
            f"{readers.kappa(len(english)):.2f}   {cells}"
        )
    write_results("topic_agreement", report)


if __name__ == "__main__":
    main()
