"""Scores weigh evidence as a reader does: where it stands, how many different words, how close."""

from __future__ import annotations

import pytest

from pipeline.topics import Document, Matcher, compile_topic
from pipeline.topics.evidence import CONTENT_CURVE, SUMMARY_CURVE, weight

THRESHOLD = 0.5  # the default: it should mean "the article states this" for every topic


def score(query: str, document: Document) -> float:
    topic = compile_topic("t", "T", query, threshold=0.0)
    found = Matcher([topic]).match(document)
    return found[0].score if found else 0.0


def filler(count: int) -> str:
    return " ".join(f"word{i}" for i in range(count))


def test_the_lead_of_the_body_is_strong_and_a_deep_mention_is_weak():
    lead = Document("Quarterly review", "", "Tariffs on steel rise. " + filler(500))
    deep = Document("Quarterly review", "", filler(400) + " tariffs on steel rise. " + filler(50))
    assert score("tariff", lead) >= THRESHOLD > score("tariff", deep) > 0


def test_one_incidental_word_late_in_a_long_summary_is_weak_and_the_same_word_in_a_title_not():
    summary = filler(60) + " the elected band councillor said so. " + filler(20)
    assert 0 < score("election", Document("Band council budget", summary)) < THRESHOLD
    assert score("election", Document("Band council election", summary)) == 1.0


def test_early_in_the_summary_counts_almost_as_much_as_the_headline():
    assert score("tariff", Document("x", "New tariffs hit steel imports.")) >= 0.9


def test_several_different_words_count_more_than_one_word_repeated():
    late = filler(70)
    repeated = Document("x", f"{late} voters and voters and voters")
    distinct = Document("x", f"{late} voters at the ballot box in a referendum")
    query = "voter OR ballot OR referendum"
    assert score(query, repeated) < THRESHOLD <= score(query, distinct)


def test_clauses_close_together_count_more_than_clauses_far_apart():
    query = "iran AND talks"
    close = score(query, Document("x", "Iran and the US resume talks. " + filler(80)))
    far = score(query, Document("x", "Iran " + filler(80) + " talks"))
    assert close > far


@pytest.mark.parametrize(
    ("one_clause", "three_clauses"),
    [
        (Document("Iran talks resume"), Document("Iran nuclear talks resume")),
        (
            Document("x", "", filler(300) + " Iran talks resume " + filler(10)),
            Document("x", "", filler(300) + " Iran nuclear talks resume " + filler(10)),
        ),
    ],
)
def test_the_threshold_means_the_same_for_one_and_several_clauses(one_clause, three_clauses):
    single = score("talks", one_clause)
    several = score("iran AND nuclear AND talks", three_clauses)
    assert abs(single - several) < 0.05
    assert (single >= THRESHOLD) == (several >= THRESHOLD)


def test_weights_fall_with_depth_in_summary_and_body():
    summary = [weight((1, n, n + 1)) for n in (0, 20, 40, 80, 500)]
    body = [weight((2, n, n + 1)) for n in (0, 40, 80, 150, 300, 5000)]
    assert summary == sorted(summary, reverse=True) and body == sorted(body, reverse=True)
    assert weight((0, 50, 51)) == 1.0
    assert summary[0] == SUMMARY_CURVE[0][1] and body[-1] == CONTENT_CURVE[-1][1]


def test_the_explanation_shows_each_mention_with_its_weight_and_what_it_matched_by():
    topic = compile_topic("t", "T", '"rate cut" AND (bank OR fed)')
    text = "Fed signals rate cuts as banks weigh outlook"
    match = Matcher([topic]).explain("t", Document("Markets", text))
    hits = {h.term: h for c in match.explanation.clauses for h in c.hits}
    assert hits['"rate cut"'].analyzed == "rate cut"
    assert hits['"rate cut"'].words == ("rate cuts",)
    assert hits["bank"].analyzed == "bank" and hits["bank"].words == ("banks",)
    assert hits["fed"].weights == (0.9,)
    # fed and bank pooled: 1 - 0.1 * 0.1
    assert [c.evidence for c in match.explanation.clauses] == [0.9, 0.99]
    assert match.explanation.together == 1.0
    stored = match.explanation.to_dict()
    assert stored["clauses"][0]["hits"][0]["weights"] == [0.9]
    assert stored["clauses"][0]["hits"][0]["analyzed"] == "rate cut"


def test_a_mention_in_passing_in_the_summary_is_weak_and_a_headline_is_not_discounted():
    setting = Document("Fuel taxes cut", "Ahead of next year's election, the minister cut taxes.")
    story = Document("Fuel taxes cut", "The election campaign opened as the minister cut taxes.")
    assert score("election", story) >= THRESHOLD > score("election", setting) > 0
    headline = Document("GOP sticks with Trump despite election rout")
    assert score("election", headline) == 1.0


def test_a_near_pair_that_follows_a_background_cue_is_in_passing_as_a_whole():
    query = "talks NEAR/15 iran"
    setting = Document("Drills in the strait", "The day before talks resume, Iran held drills.")
    story = Document("Drills in the strait", "Talks with Iran resume in Geneva on Monday.")
    assert score(query, story) >= THRESHOLD > score(query, setting) > 0


def test_the_explanation_shows_the_discounted_weight_of_a_mention_in_passing():
    topic = compile_topic("t", "T", "election", threshold=0.0)
    document = Document("x", "Ahead of the election, taxes were cut. The election is in May.")
    match = Matcher([topic]).explain("t", document)
    (hit,) = match.explanation.clauses[0].hits
    assert hit.weights[0] < hit.weights[1] == 0.9


def test_a_term_inside_a_phrase_already_counted_adds_no_evidence():
    phrase_only = '"presidential candidate"'
    overlapping = '"presidential candidate" OR candidate OR presidential'
    document = Document("x", filler(50) + " the former presidential candidate spoke. " + filler(9))
    assert score(overlapping, document) == score(phrase_only, document) < THRESHOLD
    distinct = Document("x", filler(50) + " the presidential candidate won votes. " + filler(9))
    assert score('"presidential candidate" OR vote', distinct) > score(phrase_only, distinct)


@pytest.mark.parametrize(
    ("summary", "in_passing"),
    [
        ("Gangs thrive eight years after a peace accord was signed.", True),
        ("The day before talks resume, Iran held drills.", True),
        ("Amid stalled talks, the army advanced.", True),
        ("The two sides agreed after talks in Geneva.", False),
        ("Talks resumed in Geneva after a pause.", False),
    ],
)
def test_after_and_before_set_the_scene_only_after_a_span_of_time(summary, in_passing):
    document = Document("x", summary)
    weights = Matcher([compile_topic("t", "T", "talks OR accord", threshold=0.0)]).explain(
        "t", document
    )
    (hit,) = weights.explanation.clauses[0].hits
    assert (hit.weights[0] < 0.9) == in_passing
