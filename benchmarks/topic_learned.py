"""Would scoring learned from the labels beat the example topics' keyword queries?

Run by hand:  python benchmarks/topic_learned.py

Only the tuning half of tests/data/topic_eval/ is read (the test half stays unseen). Per topic,
a logistic regression over hashed word stems and stem pairs (headline apart from the rest:
title, summary, lead) and the keyword topic's verdict, trained by SGD, is measured by
cross-validation grouped by feed (no feed on both sides, as the test half holds out feeds).
Each rule's probability threshold is chosen inside the training folds (best F1 on an inner
grouped split), never on the fold it is measured on. Rules: the learned score alone, keyword
OR learned (more recall), keyword AND learned (more precision), beside the keyword topic.
Figures print and go to benchmarks/results/topic_learned.json; docs/topic-evaluation.md has
what they showed (with a sentence-embedding model tried the same way).
"""

from __future__ import annotations

import itertools
import logging
import random
import sys
import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import write_results  # noqa: E402
from benchmarks.topic_eval import evaluate, feed_documents  # noqa: E402
from pipeline.topics.analysis import analyze  # noqa: E402

FOLDS = 5
HASHED = 2**18  # feature slots; collisions are rare at a few thousand short texts
EPOCHS = 8
LEARNING_RATE = 0.5
L2 = 1e-5
THRESHOLDS = np.linspace(0.05, 0.95, 19)


def features(title: str, rest: str) -> np.ndarray:
    """Hashed stems and stem pairs (the matcher's own analyzer): the headline's apart, then
    all the text's."""
    slots: set[int] = set()
    for prefix, text in (("title:", title), ("text:", f"{title} {rest}")):
        stems = analyze(text)[1].split()
        grams = stems + [f"{a} {b}" for a, b in itertools.pairwise(stems)]
        slots.update(zlib.crc32((prefix + g).encode()) % HASHED for g in grams)
    return np.fromiter(sorted(slots), dtype=np.int64)


class Model:
    """Logistic regression over sparse binary features plus the keyword verdict."""

    def __init__(self) -> None:
        self.weights = np.zeros(HASHED)
        self.keyword = 0.0
        self.bias = 0.0

    def probability(self, slots: np.ndarray, keyword: bool) -> float:
        z = self.weights[slots].sum() + self.keyword * keyword + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def fit(self, rows: Sequence[tuple[np.ndarray, bool, bool]], seed: int) -> Model:
        order = list(range(len(rows)))
        shuffle = random.Random(seed).shuffle
        for _ in range(EPOCHS):
            shuffle(order)
            for i in order:
                slots, keyword, label = rows[i]
                gradient = self.probability(slots, keyword) - label
                self.weights[slots] -= LEARNING_RATE * (gradient + L2 * self.weights[slots])
                self.keyword -= LEARNING_RATE * gradient * keyword
                self.bias -= LEARNING_RATE * gradient
        return self


Rule = Callable[[np.ndarray, np.ndarray, float], np.ndarray]
RULES: dict[str, Rule] = {
    "learned": lambda p, kw, t: p > t,
    "keyword OR learned": lambda p, kw, t: kw | (p > t),
    "keyword AND learned": lambda p, kw, t: kw & (p > t),
}


def precision_recall(predicted: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    hits = int((predicted & labels).sum())
    return hits / max(int(predicted.sum()), 1), hits / max(int(labels.sum()), 1)


def f1(predicted: np.ndarray, labels: np.ndarray) -> float:
    p, r = precision_recall(predicted, labels)
    return 2 * p * r / (p + r) if p + r else 0.0


def out_of_fold(rows, groups: Sequence[str], folds: int, seed: int) -> np.ndarray:
    """Each row's probability from a model trained on the other feeds' rows."""
    feeds = sorted(set(groups))
    random.Random(seed).shuffle(feeds)
    fold_of = {feed: n % folds for n, feed in enumerate(feeds)}
    probabilities = np.zeros(len(rows))
    for fold in range(folds):
        train = [r for r, g in zip(rows, groups, strict=True) if fold_of[g] != fold]
        model = Model().fit(train, seed)
        for i, (row, group) in enumerate(zip(rows, groups, strict=True)):
            if fold_of[group] == fold:
                probabilities[i] = model.probability(row[0], row[1])
    return probabilities


def nested(rows, groups: Sequence[str], seed: int = 1) -> dict[str, np.ndarray]:
    """Each rule's verdicts, each fold's threshold chosen on an inner split of its training
    feeds."""
    feeds = sorted(set(groups))
    random.Random(seed).shuffle(feeds)
    fold_of = {feed: n % FOLDS for n, feed in enumerate(feeds)}
    verdicts = {name: np.zeros(len(rows), dtype=bool) for name in RULES}
    for fold in range(FOLDS):
        inside = [i for i, g in enumerate(groups) if fold_of[g] != fold]
        outside = [i for i, g in enumerate(groups) if fold_of[g] == fold]
        inner_rows = [rows[i] for i in inside]
        inner_p = out_of_fold(inner_rows, [groups[i] for i in inside], FOLDS - 1, seed)
        inner_kw = np.array([r[1] for r in inner_rows])
        inner_y = np.array([r[2] for r in inner_rows])
        model = Model().fit(inner_rows, seed)
        p = np.array([model.probability(rows[i][0], rows[i][1]) for i in outside])
        kw = np.array([rows[i][1] for i in outside])
        for name, rule in RULES.items():
            threshold = max(THRESHOLDS, key=lambda t: f1(rule(inner_p, inner_kw, t), inner_y))
            verdicts[name][outside] = rule(p, kw, threshold)
    return verdicts


def main() -> None:
    logging.disable(logging.WARNING)
    evaluation = evaluate()
    items = [i for i in evaluation.in_half("tuning") if i.lang == "en"]
    documents: dict[str, dict] = {}
    slots = []
    for item in items:
        if item.feed not in documents:
            documents[item.feed] = feed_documents(item.feed)
        document = documents[item.feed][item.guid]
        slots.append(features(document.title, f"{document.summary} {document.content[:800]}"))
    groups = [i.feed for i in items]
    report: dict[str, object] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": f"tuning half, {len(items)} English items, {len(set(groups))} feeds",
        "method": f"{FOLDS}-fold cross-validation grouped by feed; thresholds chosen in "
        "an inner grouped split of each training part",
    }
    print(report["data"])
    for topic in evaluation.topics:
        labels = np.array([topic in i.relevant for i in items])
        keyword = np.array([topic in i.predicted for i in items])
        rows = list(zip(slots, keyword.tolist(), labels.tolist(), strict=True))
        figures = {"positives": int(labels.sum()), "keyword": precision_recall(keyword, labels)}
        for name, verdicts in nested(rows, groups).items():
            figures[name] = precision_recall(verdicts, labels)
        print(f"{topic} ({figures['positives']} positives)")
        for name, value in figures.items():
            if name != "positives":
                print(f"  {name:22s} precision {value[0]:.2f}  recall {value[1]:.2f}")
        report[topic] = {
            k: v if k == "positives" else [round(x, 3) for x in v] for k, v in figures.items()
        }
    write_results("topic_learned", report)


if __name__ == "__main__":
    main()
