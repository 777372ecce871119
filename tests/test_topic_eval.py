"""Precision and recall of the example topics on 300+ hand-labelled real news items."""

from __future__ import annotations

import pytest

from benchmarks.topic_eval import evaluate

MIN_PRECISION, MIN_RECALL = 0.9, 0.8


@pytest.fixture(scope="module")
def evaluation():
    return evaluate()


def test_the_labelled_set_is_big_enough(evaluation):
    items, counts = evaluation
    assert items >= 200
    labelled_topics = [t for t, c in counts.items() if c.positives >= 10]
    assert len(labelled_topics) >= 3, {t: c.positives for t, c in counts.items()}


@pytest.mark.parametrize("topic", ["peace-talks", "elections", "trade-tariffs"])
def test_precision_and_recall(evaluation, topic):
    counts = evaluation[1][topic]
    assert counts.precision >= MIN_PRECISION, counts.false_positives
    assert counts.recall >= MIN_RECALL, counts.false_negatives


def test_defence_topic_has_no_false_positives_among_real_defence_stories(evaluation):
    # The labelled feeds quote defence ministers and secretaries, none meeting a counterpart.
    assert evaluation[1]["defence-secretary-meetings"].false_positives == []
