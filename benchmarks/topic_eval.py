"""Precision and recall of the example topics on the hand-labelled real-world set.

Run by hand:  python benchmarks/topic_eval.py
The set is tests/data/topic_eval.csv (items from ten real news feeds in tests/data/corpus,
labelled by reading them, before the queries were written). The same numbers are enforced by
tests/test_topic_eval.py; this script also lists every miss and writes
benchmarks/results/topic_eval.json.
"""

from __future__ import annotations

import csv
import json
import logging
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.config import compile_topics, load_config  # noqa: E402
from pipeline.parse import parse_bytes  # noqa: E402
from pipeline.topics import Document, Matcher  # noqa: E402

LABELS = ROOT / "tests/data/topic_eval.csv"
CORPUS = ROOT / "tests/data/corpus/news_feeds"
CONFIG = ROOT / "examples/newswatch.yaml"
RESULTS = ROOT / "benchmarks/results"


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


def _articles(feed: str) -> dict[str, object]:
    parsed = parse_bytes((CORPUS / feed).read_bytes(), "https://feeds.example.net/" + feed)
    return {a.guid: a for a in parsed.articles}


def evaluate() -> tuple[int, dict[str, Counts]]:
    """(items labelled, counts per topic) for the example config's topics."""
    matcher = Matcher(compile_topics(load_config(CONFIG).config))
    with LABELS.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    topic_columns = [c for c in rows[0] if c not in ("feed", "guid", "title")]
    counts = {column.replace("_", "-"): Counts() for column in topic_columns}
    feeds: dict[str, dict[str, object]] = {}
    for row in rows:
        if row["feed"] not in feeds:
            feeds[row["feed"]] = _articles(row["feed"])
        article = feeds[row["feed"]][row["guid"]]
        document = Document(article.title, article.summary, article.content)  # type: ignore[attr-defined]
        predicted = {m.topic.id for m in matcher.match(document) if m.passed}
        for column in topic_columns:
            topic = column.replace("_", "-")
            label, hit = row[column] == "1", topic in predicted
            if label and hit:
                counts[topic].true_positives += 1
            elif hit:
                counts[topic].false_positives.append(row["title"])
            elif label:
                counts[topic].false_negatives.append(row["title"])
    return len(rows), counts


def main() -> None:
    logging.disable(logging.WARNING)
    items, counts = evaluate()
    report: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "items": items,
        "config": "examples/newswatch.yaml",
        "topics": {},
    }
    print(f"{items} hand-labelled items (tests/data/topic_eval.csv)")
    for topic, c in counts.items():
        print(
            f"{topic:28s} positives {c.positives:3d}  precision {c.precision:.2f}  "
            f"recall {c.recall:.2f}  (fp {len(c.false_positives)}, fn {len(c.false_negatives)})"
        )
        for title in c.false_positives:
            print(f"    false positive: {title}")
        for title in c.false_negatives:
            print(f"    missed:         {title}")
        report["topics"][topic] = {  # type: ignore[index]
            "positives": c.positives,
            "precision": round(c.precision, 3),
            "recall": round(c.recall, 3),
            "false_positives": c.false_positives,
            "false_negatives": c.false_negatives,
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "topic_eval.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"written to {RESULTS / 'topic_eval.json'}")


if __name__ == "__main__":
    main()
