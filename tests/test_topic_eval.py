"""The labelled topic-evaluation set: complete, split by feed, and the example topics on it."""

from __future__ import annotations

import csv
import logging

import pytest

from benchmarks.topic_eval import DATA, HARD_NEGATIVE, MOTIVATING, SPLIT, evaluate
from pipeline.parse import parse_bytes


@pytest.fixture(scope="module")
def evaluation():
    return evaluate()


def test_every_corpus_news_item_is_labelled_once(evaluation):
    logging.disable(logging.WARNING)
    corpus = {
        ("corpus/news_feeds/" + path.name, article.guid)
        for path in (DATA / "corpus/news_feeds").iterdir()
        for article in parse_bytes(path.read_bytes(), "https://x.example/").articles
    }
    logging.disable(logging.NOTSET)
    labelled = [(i.feed, i.guid) for i in evaluation.items]
    assert len(labelled) == len(set(labelled))
    assert corpus <= set(labelled) and len(corpus) >= 900


def test_halves_are_made_of_whole_feeds_with_the_added_test_items_in_the_test_half(evaluation):
    with SPLIT.open(encoding="utf-8") as handle:
        halves = {row["feed"]: row["half"] for row in csv.DictReader(handle)}
    assert set(halves.values()) == {"tuning", "test"}
    assert all(item.half == halves[item.feed] for item in evaluation.items)
    added = [
        i for i in evaluation.items if i.guid in MOTIVATING or i.guid.startswith(HARD_NEGATIVE)
    ]
    assert len(added) == 7 and {i.half for i in added} == {"test"}
    for half in ("tuning", "test"):
        items = evaluation.in_half(half)
        assert len(items) > 400
        assert all(sum(t in i.relevant for i in items) >= 3 for t in evaluation.topics)
