"""Split the labelled topic-evaluation set into a tuning half and a test half, by feed.

Run after labelling:  python benchmarks/topic_split.py
It reads only tests/data/topic_eval/labels.csv (never a matcher's output) and writes
tests/data/topic_eval/split.csv: each feed's half now (`half`) and in each earlier round
(`rounds_1_2`, `round_3`, ...). From round 3 on, each round holds out new feeds
(topic_eval/round<N>/, collected and labelled without looking at the topics or any matcher's
output) as its test half, and every feed labelled before it is in the tuning half. The rule
of rounds 1-2 (also in tests/data/topic_eval/definitions.md):

- the items made for the evaluation go to their fixed half: extra_items.xml (the motivating
  article in three forms, hard negatives) to test, tuning_extra_items.xml to tuning;
- the corpus feeds are taken in order of their positive labels over English items (all topics,
  most first), then item count (most first), then file name; each goes to the half where the
  positives of every topic, and the item counts, come out most even (relative imbalance summed
  over topics plus relative imbalance of items). A tie goes to the tuning half.
"""

from __future__ import annotations

import csv
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests/data/topic_eval"
FIXED = {"topic_eval/extra_items.xml": "test", "topic_eval/tuning_extra_items.xml": "tuning"}
HALVES = ("tuning", "test")
ROUNDS = (3, 4, 5)  # the rounds that held out feeds of their own, in topic_eval/round<N>/


def read_labels() -> tuple[list[str], list[dict[str, str]]]:
    with (EVAL / "labels.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    topics = [c for c in rows[0] if c not in ("feed", "guid", "lang", "title")]
    return topics, rows


def split(topics: list[str], rows: list[dict[str, str]]) -> dict[str, str]:
    items: Counter[str] = Counter(r["feed"] for r in rows)
    positives: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        if row["lang"] == "en":
            positives[row["feed"]].update(t for t in topics if row[t] == "1")
    totals = {t: sum(p[t] for p in positives.values()) for t in topics}
    all_items = sum(items.values())
    halves = {h: {"items": 0, **dict.fromkeys(topics, 0)} for h in HALVES}
    assignment = {}

    def place(feed: str, half: str) -> None:
        assignment[feed] = half
        halves[half]["items"] += items[feed]
        for topic in topics:
            halves[half][topic] += positives[feed][topic]

    def cost_if(feed: str, half: str) -> float:
        counts = {h: dict(c) for h, c in halves.items()}
        counts[half]["items"] += items[feed]
        for topic in topics:
            counts[half][topic] += positives[feed][topic]
        gaps = [abs(counts["tuning"][t] - counts["test"][t]) / max(1, totals[t]) for t in topics]
        return sum(gaps) + abs(counts["tuning"]["items"] - counts["test"]["items"]) / all_items

    for feed, half in FIXED.items():
        place(feed, half)
    corpus = sorted(
        (f for f in items if f not in FIXED),
        key=lambda f: (-sum(positives[f].values()), -items[f], f),
    )
    for feed in corpus:
        place(feed, min(HALVES, key=lambda h: (cost_if(feed, h), HALVES.index(h))))
    return assignment


def round_of(feed: str) -> int | None:
    """The round whose held-out feeds include `feed` (None for rounds 1-2's feeds)."""
    return next((n for n in ROUNDS if feed.startswith(f"topic_eval/round{n}/")), None)


def split_by_round(topics: list[str], rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    """Each feed's half in every round: `rounds_1_2`, `round_<N>` for each later round, and
    `half`, the latest round's. In round N, round N's feeds are the test half, feeds labelled
    before it the tuning half, and later feeds did not exist ("")."""
    feeds = {r["feed"] for r in rows}
    earlier = split(topics, [r for r in rows if round_of(r["feed"]) is None])
    halves: dict[str, dict[str, str]] = {}
    for feed in feeds:
        first = round_of(feed)
        row = {"rounds_1_2": earlier.get(feed, "")}
        for n in ROUNDS:
            row[f"round_{n}"] = (
                "tuning" if first is None or first < n else "test" if first == n else ""
            )
        halves[feed] = {"half": row[f"round_{ROUNDS[-1]}"], **row}
    return halves


def main() -> None:
    topics, rows = read_labels()
    halves = split_by_round(topics, rows)
    columns = ["half", "rounds_1_2", *(f"round_{n}" for n in ROUNDS)]
    with (EVAL / "split.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["feed", *columns])
        writer.writerows([feed, *(row[c] for c in columns)] for feed, row in sorted(halves.items()))
    assignment = {feed: row["half"] for feed, row in halves.items()}
    for half in HALVES:
        mine = [r for r in rows if assignment[r["feed"]] == half]
        english = [r for r in mine if r["lang"] == "en"]
        counts = ", ".join(f"{t} {sum(r[t] == '1' for r in english)}" for t in topics)
        feeds = sum(1 for h in assignment.values() if h == half)
        print(f"{half}: {feeds} feeds, {len(mine)} items ({len(english)} English); {counts}")
    print(f"written to {EVAL / 'split.csv'}")


if __name__ == "__main__":
    main()
