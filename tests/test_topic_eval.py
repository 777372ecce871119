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


def test_the_motivating_article_in_all_three_forms_is_caught_by_the_defence_topic(evaluation):
    for guid in MOTIVATING:
        assert "defence-secretary-meetings" in evaluation.by_guid(guid).predicted, guid


def test_the_hard_negatives_match_no_topic(evaluation):
    negatives = [i for i in evaluation.items if i.guid.startswith(HARD_NEGATIVE)]
    assert len(negatives) == 4 and all(not i.predicted for i in negatives)


@pytest.mark.parametrize("half", ["tuning", "test"])
def test_precision_and_recall_do_not_fall_below_what_was_measured(evaluation, half):
    # A regression guard, below the figures measured when the topics were tuned (README, "The
    # example topics, measured"); the goal, 0.9 and 0.85 on the test half, is not met by all.
    for topic, counts in evaluation.counts(half).items():
        assert counts.precision >= 0.7, (topic, counts.false_positives)
        assert counts.recall >= 0.7, (topic, counts.false_negatives)
