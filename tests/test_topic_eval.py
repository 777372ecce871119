"""The labelled topic-evaluation set: complete, split by feed, and the example topics on it."""

from __future__ import annotations

import csv
import logging

import pytest

from benchmarks.topic_agreement import Agreement, round_items
from benchmarks.topic_eval import DATA, HARD_NEGATIVE, MOTIVATING, SPLIT, evaluate
from benchmarks.topic_split import ROUNDS, round_of
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


def test_halves_are_made_of_whole_feeds_with_the_latest_round_as_the_test_half(evaluation):
    with SPLIT.open(encoding="utf-8") as handle:
        split = {row["feed"]: row for row in csv.DictReader(handle)}
    assert {row["half"] for row in split.values()} == {"tuning", "test"}
    assert all(item.half == split[item.feed]["half"] for item in evaluation.items)
    for feed, row in split.items():
        first = round_of(feed)
        # a round's test feeds were never seen before it, and are tuning data after it
        assert (row["rounds_1_2"] == "") == (first is not None), feed
        for n in ROUNDS:
            expected = "tuning" if first is None or first < n else "test" if first == n else ""
            assert row[f"round_{n}"] == expected, (feed, n)
        assert row["half"] == ("test" if first == ROUNDS[-1] else "tuning"), feed
    added = [
        i for i in evaluation.items if i.guid in MOTIVATING or i.guid.startswith(HARD_NEGATIVE)
    ]
    assert len(added) == 7 and {i.earlier_halves["rounds_1_2"] for i in added} == {"test"}
    for half in ("tuning", "test"):
        items = evaluation.in_half(half)
        assert len(items) > 1000
        assert sum("peace-talks" in i.relevant for i in items) >= 30


@pytest.mark.parametrize(("folder", "count"), [("round3", 742), ("round4", 1373), ("round5", 1332)])
def test_every_held_out_item_is_labelled_once(evaluation, folder, count):
    logging.disable(logging.WARNING)
    held_out = {
        (f"topic_eval/{folder}/" + path.name, article.guid)
        for path in (DATA / "topic_eval" / folder).glob("*.xml")
        for article in parse_bytes(path.read_bytes(), "https://x.example/").articles
    }
    logging.disable(logging.NOTSET)
    labelled = {
        (i.feed, i.guid) for i in evaluation.items if i.feed.startswith(f"topic_eval/{folder}/")
    }
    assert labelled == held_out and len(held_out) == count


def test_the_motivating_article_in_all_three_forms_is_caught_by_the_defence_topic(evaluation):
    for guid in MOTIVATING:
        assert "defence-secretary-meetings" in evaluation.by_guid(guid).predicted, guid


def test_the_hard_negatives_match_no_topic(evaluation):
    negatives = [i for i in evaluation.items if i.guid.startswith(HARD_NEGATIVE)]
    assert len(negatives) == 4 and all(not i.predicted for i in negatives)


# Regression guards, at or a little below what was measured (README, "The example topics,
# measured"):
# the tuning half (rounds 1-4) at the end of round 5's tuning, and round 5's held-out test half
# when it was first computed. The goal, precision 0.9 and recall 0.85 on the test half, is met
# by the trade topic only.
FLOORS = {
    "tuning": {
        "defence-secretary-meetings": (0.6, 0.65),
        "peace-talks": (0.8, 0.85),
        "elections": (0.7, 0.65),
        "trade-tariffs": (0.9, 0.8),
    },
    "test": {
        "defence-secretary-meetings": (0.9, 0.5),
        "peace-talks": (0.7, 0.65),
        "elections": (0.65, 0.5),
        "trade-tariffs": (0.9, 0.85),
    },
}


@pytest.mark.parametrize("half", ["tuning", "test"])
def test_precision_and_recall_do_not_fall_below_what_was_measured(evaluation, half):
    for topic, counts in evaluation.counts(half).items():
        precision, recall = FLOORS[half][topic]
        assert counts.precision >= precision, (topic, counts.false_positives)
        assert counts.recall >= recall, (topic, counts.false_negatives)


def test_round_5_was_read_a_second_time_item_for_item(evaluation):
    paired = round_items(evaluation)  # exits naming what is missing when an item is not
    assert len(paired) == 1332
    assert {p.second_lang for p in paired} >= {"en"}
    assert sum(len(p.second_relevant) for p in paired) > 200


def test_agreement_between_two_readings():
    truth = frozenset({("f", "a"), ("f", "b"), ("f", "c"), ("f", "d")})
    other = frozenset({("f", "a"), ("f", "b"), ("f", "e")})
    agreement = Agreement(truth, other)
    assert (agreement.both, agreement.precision, agreement.recall) == (2, 2 / 3, 0.5)
    # 10 items, 3 disagreements: observed 0.7; by chance 0.4 * 0.3 + 0.6 * 0.7 = 0.54
    assert agreement.kappa(10) == pytest.approx((0.7 - 0.54) / (1 - 0.54))
    assert Agreement(truth, truth).kappa(10) == pytest.approx(1.0)
