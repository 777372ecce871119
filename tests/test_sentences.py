"""NEAR stays inside one sentence: two words either side of a full stop are two statements."""

from __future__ import annotations

import pytest

from pipeline.topics import Document, Matcher, compile_topic
from pipeline.topics.sentences import sentence_starts


def starts_of(text: str) -> list[str]:
    return [text[at : at + 6] for at in sentence_starts(text)]


def test_a_full_stop_before_a_capital_and_a_line_break_start_sentences():
    text = 'Talks ended. The army chief left! "We are done," he said?\nNext day, more.'
    assert starts_of(text) == ["The ar", '"We ar', "Next d"]


@pytest.mark.parametrize(
    "text",
    [
        "U.S. officials met Iranian envoys in Oman.",
        "The army chief, Gen. Asim Munir, met the visitors.",
        "Talks resume on Jan. 5 in Geneva.",
        "A.O.C. spoke in Munich.",
        "Prices rose 3.5 percent. the lower-case word after a stop is not a new sentence.",
    ],
)
def test_initials_abbreviations_decimals_and_lower_case_continue_a_sentence(text):
    assert sentence_starts(text) == []


def matched(query: str, document: Document) -> bool:
    topic = compile_topic("t", "T", query, threshold=0.0)
    return any(m.matched for m in Matcher([topic]).match(document))


def test_near_holds_within_a_sentence_and_not_across_a_full_stop():
    query = "(army chief) NEAR/8 (talks OR met)"
    within = Document("Army chief met his Kenyan counterpart in Nairobi")
    across = Document(
        "Budget news", "Kenya's president opened talks. The army chief announced new budgets."
    )
    assert matched(query, within)
    assert not matched(query, across)
    assert matched("(army chief) AND talks", across)  # AND is not bounded by sentences


def test_near_holds_across_an_abbreviation_and_not_across_a_paragraph():
    query = "(army chief) NEAR/8 met"
    assert matched(query, Document("x", "The army chief, Gen. Munir, met U.S. officials."))
    assert not matched(query, Document("x", "", "Officials met in Rawalpindi\nThe army chief"))


def test_a_near_across_sentences_adds_no_evidence_to_a_score():
    topic = compile_topic("t", "T", '("army chief" NEAR/8 met) OR iran', threshold=0.0)
    later = " ".join(f"word{i}" for i in range(60)) + " Iran."
    across = Document("News", "Officials met on Monday. The army chief spoke. " + later)
    within = Document("News", "Officials met the army chief on Monday. " + later)
    matcher = Matcher([topic])
    assert matcher.match(within)[0].score >= 0.5 > matcher.match(across)[0].score > 0


def test_the_same_words_are_never_both_sides_of_a_near():
    query = '"presidential candidate" NEAR/15 (candidate OR vote)'
    assert not matched(query, Document("x", "The former presidential candidate died at 84."))
    assert matched(query, Document("x", "The presidential candidate won the vote."))
