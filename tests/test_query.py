"""The query language: every operator, nesting, folding, and errors with their column."""

from __future__ import annotations

import pytest

from pipeline.topics import Document, Matcher, QueryError, compile_topic, parse_query
from pipeline.topics.query import And, Near, Not, Or, Term


def matches(query: str, title: str, summary: str = "", content: str = "", **lists) -> bool:
    topic = compile_topic("t", "T", query, threshold=0.0, term_lists=lists or None)
    return bool(Matcher([topic]).match(Document(title, summary, content)))


def test_the_tree_for_each_operator():
    node = parse_query('("defence secretary" OR minister*) AND NOT cricket title:talks NEAR/3 iran')
    assert isinstance(node, And) and len(node.children) == 3
    first, second, third = node.children
    assert first == Or((Term(("defence", "secretary"), False), Term(("minister",), True)))
    assert second == Not(Term(("cricket",), False))
    assert third == Near(Term(("talks",), False, ("title",)), Term(("iran",), False), 3)


def test_precedence_and_binds_tighter_than_or():
    assert isinstance(parse_query("a b OR c"), Or)
    assert str(parse_query("a OR b c")) == "(a OR (b AND c))"
    assert str(parse_query("(a OR b) c")) == "((a OR b) AND c)"


@pytest.mark.parametrize(
    ("query", "title", "expected"),
    [
        ("iran AND talks", "Iran talks resume", True),
        ("iran AND talks", "Iran sanctions", False),
        ("iran talks", "Talks with Iran", True),  # adjacency is AND
        ("iran OR ukraine", "Ukraine war", True),
        ("iran OR ukraine", "Gaza", False),
        ("talks NOT cricket", "Cricket board talks", False),
        ("talks AND NOT cricket", "Peace talks", True),
        ("meet*", "Ministers meeting", True),
        ("meet*", "Ministers met", False),
        ("met", "Ministers met", True),
        ("met", "Metropolitan police", False),
        ('"defence secretary"', "Defence Secretary visits", True),
        ('"defence secretary"', "Secretary for defence", False),
        ("((a OR b) AND (c OR (d AND e)))", "b d e", True),
        ("((a OR b) AND (c OR (d AND e)))", "b d", False),
        ("NOT x a", "a", True),
    ],
)
def test_boolean_semantics(query, title, expected):
    assert matches(query, title) is expected


def test_case_and_accent_folding():
    assert matches('"ministère de la défense"', "Le MINISTERE DE LA DEFENSE dit")
    assert matches("defense", "La Défense nationale")
    assert matches("ZÜRICH", "talks in zurich")
    assert matches("Straße", "STRASSE") is False  # ß folds to itself, not to "ss"


def test_phrases_across_punctuation_and_hyphens():
    assert matches('"india israel"', "India-Israel defence talks")
    assert matches("India-Israel", "India–Israel ties")  # en dash
    assert matches('"defence secretary"', "Defence\nSecretary")
    assert matches('"defence secretary"', "defence, secretary")  # punctuation is a word break
    assert matches("U.S.", "The u.s. envoy")
    assert matches("india's", "India’s minister")  # curly apostrophe


def test_a_phrase_never_spans_two_fields():
    assert not matches('"defence secretary"', "Talks with the defence", "Secretary of state")


def test_prefix_phrases():
    assert matches('"defence minist*"', "Defence Ministry statement")


def test_near():
    text = "the defence secretary said on tuesday that talks would resume"
    assert matches('"defence secretary" NEAR/6 talks', text)
    assert not matches('"defence secretary" NEAR/3 talks', text)
    assert matches("talks NEAR secretary", text)  # default distance 10, either order
    assert not matches("talks NEAR/20 secretary", "talks", "secretary")  # different fields


def test_field_scopes():
    assert matches("title:iran", "Iran", "nothing")
    assert not matches("title:iran", "Nothing", "Iran")
    assert matches("summary:(iran OR gaza)", "x", "Gaza ceasefire")
    assert matches('content:"peace talks"', "x", "", "New peace talks began")
    assert matches("title:(summary:iran)", "x", "iran")  # the innermost scope wins


def test_term_lists():
    lists = {"offices": ["defence secretary", "defense minist*"]}
    assert matches("@offices talks", "Defense Ministry holds talks", **lists)
    assert not matches("@offices talks", "Interior minister holds talks", **lists)
    assert matches("title:@offices", "Defence Secretary", **lists)


@pytest.mark.parametrize(
    ("query", "column", "fragment"),
    [
        ("iran AND", 9, "expected a term"),
        ("(iran OR gaza", 14, "expected ')'"),
        ("iran )", 6, "expected AND, OR, NOT, NEAR or the end"),
        ('"defence secretary', 1, "unterminated phrase"),
        ("head:iran", 1, "unknown field 'head'"),
        ("me*et", 1, "wildcard is only allowed at the end"),
        ("iran OR OR gaza", 9, "expected a term"),
        ("NOT cricket", 1, "can match without any of its terms"),
        ("@nope talks", 1, "unknown term list @nope"),
        ("talks NEAR NOT iran", 12, "expected a term"),
        ("&&", 1, "no letters or digits"),
        ("", 1, "expected a term"),
        ("talks NEAR/x iran", 7, "'NEAR/x': NEAR takes a number of words"),  # not "near x"
        ("talks NEAR/5words iran", 7, "NEAR takes a number of words, as in NEAR/5"),
        ("iran title: talks", 6, "'title:': a field takes its term right after the colon"),
        ("title:", 1, "as in title:word"),  # not the word "title"
        ("Title: talks", 1, "a field takes its term right after the colon"),
    ],
)
def test_bad_syntax_names_the_column(query, column, fragment):
    with pytest.raises(QueryError) as info:
        parse_query(query, {})
    assert info.value.column == column, str(info.value)
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"column {column}:")


def test_operators_must_be_upper_case_so_lower_case_words_are_terms():
    assert parse_query("war and peace") == And(
        (Term(("war",), False), Term(("and",), False), Term(("peace",), False))
    )


def test_the_fast_word_text_agrees_with_the_word_rule_on_every_corpus_text():
    from pipeline.parse import parse_feed
    from pipeline.topics.folding import word_text, words
    from tests.conftest import CORPUS, fetched

    texts = ["Ce n’est pas—vraiment… «ça»", "U.S.-India_talks", "Москва: переговоры", "\u00a0x\ty"]
    for path in sorted((CORPUS / "news_feeds").iterdir()):
        for article in parse_feed(fetched(path)).articles:
            texts += [article.title, article.summary, article.content]
    assert all(word_text(t) == " ".join(words(t)) for t in texts)
