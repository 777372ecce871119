"""The analyzer: words matched by their Snowball English stems, and the ways around it."""

from __future__ import annotations

import pytest

from pipeline.topics import Document, Matcher, QueryError, compile_topic, parse_query, stem
from pipeline.topics.folding import words


def hits(query: str, text: str) -> list[str]:
    """The words of `text` that `query` highlights (title field), or [] when it misses."""
    topic = compile_topic("t", "T", query, threshold=0.0)
    match = Matcher([topic]).explain("t", Document(text))
    if not match.matched:
        return []
    spans = sorted(o for c in match.explanation.clauses for h in c.hits for o in h.offsets)
    return [text[a:b] for a, b in spans]


@pytest.mark.parametrize(
    ("query", "text", "found"),
    [
        ("election", "Elections called for March", ["Elections"]),
        ("elections", "Thailand election results", ["election"]),
        ("meet", "Ministers meeting in Brussels", ["meeting"]),
        ("meet", "Minister meets his counterpart", ["meets"]),
        ("rate", "Central bank holds rates", ["rates"]),
        ("tariff", "New tariffs on steel", ["tariffs"]),
        ("negotiation", "Negotiators return to Geneva", ["Negotiators"]),
        ("party", "Parties agree a coalition", ["Parties"]),
    ],
)
def test_words_match_their_inflections(query, text, found):
    assert hits(query, text) == found


def test_irregular_forms_are_not_stems_of_each_other():
    # met is not an inflection Snowball knows; term lists carry such forms (met/meet)
    assert stem("met") != stem("meet")
    assert hits("meet", "The ministers met on Monday") == []
    assert hits("meet OR met", "The ministers met on Monday") == ["met"]


@pytest.mark.parametrize(
    ("query", "text", "found"),
    [
        ('"rate cut"', "Fed signals two rate cuts this year", ["rate cuts"]),
        ('"trade deal"', "Talks on the trade deals stall", ["trade deals"]),
        ('"defence secretary"', "Defence Secretaries of both nations", ["Defence Secretaries"]),
        ("defence NEAR/3 talks", "defence ministers' talking points", ["defence", "talking"]),
    ],
)
def test_phrases_and_near_match_across_inflections(query, text, found):
    assert hits(query, text) == found


def test_phrases_keep_their_word_order():
    assert hits('"rate cut"', "The bank cuts rates") == []
    assert hits("rate NEAR/2 cut", "The bank cuts rates") == ["cuts", "rates"]


def test_an_equals_sign_asks_for_the_exact_word():
    assert hits("=election", "Elections called") == []
    assert hits("=election", "Election called") == ["Election"]
    assert hits("election", "The elected councillor spoke") == ["elected"]  # same stem
    assert hits("=elections OR =election", "The elected councillor spoke") == []
    assert hits('="hack writer"', "a hack writer's memoir") == ["hack writer"]
    assert hits('="hack writer"', "hack writers gather") == []
    assert str(parse_query('=met OR ="hack writer"')) == '(=met OR ="hack writer")'


def test_exact_words_still_fold_case_and_accents():
    assert hits("=defense", "DÉFENSE minister") == ["DÉFENSE"]


def test_prefixes_match_the_words_as_written():
    # a prefix is letters, not a stem: agree* catches "agreed", whose stem is "agre"
    assert hits("agree*", "Both sides agreed") == ["agreed"]
    assert hits("negotiat*", "negotiating, negotiation, negotiators") == [
        "negotiating",
        "negotiation",
        "negotiators",
    ]
    # and it catches every word with those letters: the user chooses hack* or the exact forms
    assert hits("hack*", "the hack writer") == ["hack"]
    assert hits("=hacked OR =hacking OR hacker", "the hack writer") == []
    assert hits("=hacked OR =hacking OR hacker", "hackers hacked the grid") == ["hackers", "hacked"]


def test_a_phrase_may_end_in_a_prefix():
    assert hits('"defence minist*"', "Defences ministries meet") == ["Defences ministries"]
    assert hits('"defence minist*"', "defence minister") == ["defence minister"]
    assert hits('"defence minist*"', "defence policy") == []


@pytest.mark.parametrize(
    "text", ["Cyber-attack hits grid", "Cyber attack hits grid", "Cyberattacks hit the grid"]
)
def test_hyphenated_words_match_joined_split_and_hyphenated(text):
    assert hits("cyber-attack", text)


def test_a_hyphenated_query_is_two_spellings():
    node = parse_query("cyber-attack")
    assert str(node) == '("cyber attack" OR cyberattack)'
    assert hits('"trade mini-deal"', "a trade minideal") == ["trade minideal"]
    assert hits("India-Israel", "India Israel talks") == ["India Israel"]
    assert hits("U.S.", "U.S. officials") == ["U.S"]  # dots are not hyphens: no "us"
    assert hits("U.S.", "tell us") == []


@pytest.mark.parametrize(
    ("query", "text", "found"),
    [
        ("выборы", "Губернатор объявил выборы", ["выборы"]),  # Cyrillic passes unchanged
        ("Wahlen", "Die Wahlen in Hessen", ["Wahlen"]),
        ("eleições", "Ibope: eleições de 2018", ["eleições"]),
        ("東京", "東京 選挙", ["東京"]),
    ],
)
def test_text_in_other_languages_still_matches_itself(query, text, found):
    assert hits(query, text) == found


def test_other_scripts_are_not_changed_by_the_english_stemmer():
    assert [stem(w) for w in words("выборы Ελλάδα 東京")] == ["выборы", "ελλαδα", "東京"]


def test_highlights_stay_on_the_original_text():
    text = "Ex-PRESIDENT’s “Élections” — résultats"
    assert hits("election", text) == ["Élections"]


def test_a_term_without_letters_or_digits_is_an_error():
    with pytest.raises(QueryError, match="no letters or digits"):
        parse_query("= OR x")
