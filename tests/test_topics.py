"""Topics on real text: the motivating case, scoring, explanations, config errors."""

from __future__ import annotations

import textwrap

import pytest

from pipeline.config import compile_topics, load_config
from pipeline.errors import ConfigError
from pipeline.parse import parse_feed
from pipeline.topics import Document, Matcher, compile_topic
from tests.conftest import DATA, EXAMPLES, fetched

ARTICLE = (DATA / "india_israel_defence_talks_2025-07-23.txt").read_text(encoding="utf-8")
TITLE = "India-Israel Defence Talks Highlight R&D, Counterterror Collaboration"
FIRST_PARAGRAPH = next(p.strip() for p in ARTICLE.split("\n") if p.startswith("In a significant"))


@pytest.fixture(scope="module")
def example_topics():
    return compile_topics(load_config(EXAMPLES / "newswatch.yaml").config)


@pytest.fixture(scope="module")
def matcher(example_topics):
    return Matcher(example_topics)


def passed(matcher: Matcher, document: Document) -> dict[str, float]:
    return {m.topic.id: m.score for m in matcher.match(document) if m.passed}


def test_the_example_ships_the_defence_topic_and_others(example_topics):
    ids = {t.id for t in example_topics}
    assert "defence-secretary-meetings" in ids and len(ids) >= 3


def test_motivating_article_as_a_feed_item_with_title_and_first_paragraph(matcher):
    assert "defence-secretary-meetings" in passed(matcher, Document(TITLE, FIRST_PARAGRAPH))


def test_motivating_article_with_its_full_text(matcher):
    subtitle = ARTICLE.split("\n")[2].strip()
    assert subtitle.startswith("The central outcome")
    assert "defence-secretary-meetings" in passed(matcher, Document(TITLE, subtitle, ARTICLE))


def test_motivating_article_with_a_bland_title_and_its_story_in_the_body(matcher):
    body = ARTICLE[ARTICLE.index("In a significant") :]
    document = Document("A long-term strategic perspective", "Devdiscourse News Desk", body)
    assert "defence-secretary-meetings" in passed(matcher, document)


def test_motivating_article_as_title_and_dek(matcher):
    dek = ARTICLE.split("\n")[2].strip()
    assert "defence-secretary-meetings" in passed(matcher, Document(TITLE, dek))


def test_motivating_article_from_the_example_feed_with_its_explanation(matcher):
    article = next(
        a
        for a in parse_feed(fetched(EXAMPLES / "feeds/world-defence.xml")).articles
        if a.title == TITLE
    )
    match = next(m for m in matcher.match(Document(article.title, article.summary)) if m.passed)
    explanation = match.explanation
    assert match.topic.id == "defence-secretary-meetings" and match.score >= 0.8
    assert all(c.matched for c in explanation.clauses)
    hit = next(h for c in explanation.clauses for h in c.hits if h.term == '"defence secretary"')
    start, end = hit.offsets[0]
    assert hit.field == "summary" and article.summary[start:end] == "Defence Secretary"
    snippet = explanation.snippet
    assert snippet is not None and len(snippet.text) <= 250
    highlighted = [snippet.text[s:e] for s, e in snippet.highlights]
    assert highlighted[:2] == ["defence cooperation", "Defence Secretary"]


def test_overlapping_mentions_are_highlighted_once(matcher):
    # "Snap election" and "election" are both terms of the elections topic, each found by two
    # clauses: the snippet's highlights must be disjoint, or a reader marking them in order
    # prints "Snap electionSnap electionelection..." (as `topics explain --text` did).
    title = "Snap election called as coalition collapses"
    snippet = matcher.explain("elections", Document(title)).explanation.snippet
    assert snippet is not None and snippet.text == title
    assert [snippet.text[s:e] for s, e in snippet.highlights] == ["Snap election", "coalition"]
    ends = [e for _, e in snippet.highlights]
    assert all(s > end for (s, _), end in zip(snippet.highlights[1:], ends, strict=False))


@pytest.mark.parametrize(
    ("title", "summary"),
    [
        ("State legislator holds talks with supporters ahead of by-election",
         "The MLA met party workers and held talks with supporters in his constituency."),
        ("Cricket board meeting decides on new selection panel",
         "The cricket board met in Mumbai; the defence secretary of the players' association "
         "attended the meeting."),
        ("Judge blocks Hegseth from punishing Kelly over video",
         "Defense Secretary Pete Hegseth pushed for the senator to be demoted over a video."),
        ("Denmark beefs up military presence in Greenland",
         "Denmark's foreign minister said it was committing ships, drones and jets."),
    ],
)  # fmt: skip
def test_the_defence_topic_does_not_fire_on_near_misses(matcher, title, summary):
    assert "defence-secretary-meetings" not in passed(matcher, Document(title, summary))


def test_an_excluded_article_says_what_excluded_it(matcher):
    match = matcher.explain(
        "defence-secretary-meetings",
        Document("Cricket board meeting", "The defence secretary of the cricket club met fans."),
    )
    assert not match.matched and not match.passed
    assert {h.term for h in match.explanation.excluded_by} == {"title:cricket"}


def score(query: str, document: Document) -> float:
    topic = compile_topic("t", "T", query, threshold=0.0)
    found = Matcher([topic]).match(document)
    return found[0].score if found else 0.0


def test_title_beats_summary_beats_body():
    query = "iran AND talks"
    title = score(query, Document("Iran talks resume"))
    summary = score(query, Document("x", "Iran talks resume"))
    body = score(query, Document("x", "", "Iran talks resume"))
    assert 1.0 >= title > summary > body > 0


def test_several_distinct_terms_beat_one_repeated_term():
    query = "(talks OR negotiations OR envoy) AND iran"
    repeated = score(query, Document("x", "Iran talks. Iran talks. Iran talks."))
    distinct = score(query, Document("x", "Iran talks, negotiations and an envoy."))
    assert distinct > repeated


def test_terms_close_together_beat_terms_far_apart():
    query = "iran AND talks"
    close = score(query, Document("x", "Iran talks " + "word " * 70))
    far = score(query, Document("x", "Iran " + "word " * 70 + "talks"))
    assert close > far


def test_scores_stay_within_zero_and_one(matcher):
    document = Document(TITLE * 3, FIRST_PARAGRAPH * 3, ARTICLE)
    assert all(0 <= m.score <= 1 for m in matcher.match(document))


def test_a_disabled_topic_never_matches():
    topic = compile_topic("t", "T", "iran", enabled=False)
    assert Matcher([topic]).match(Document("Iran")) == []


def test_only_topics_whose_selective_terms_occur_are_evaluated():
    # Every topic shares the common word "talks"; only its rarer (longer) word wakes it.
    topics = [compile_topic(f"t{i}", "T", f"negotiator{i} AND talks") for i in range(200)]
    matcher = Matcher(topics)
    evaluated = []

    def spy(index, test):
        return lambda scan: evaluated.append(matcher.topics[index].id) or test(scan)

    matcher._tests = [(spy(i, query), exclude) for i, (query, exclude) in enumerate(matcher._tests)]
    found = matcher.match(Document("Negotiator7 says talks resume"))
    assert [m.topic.id for m in found] == ["t7"]
    assert evaluated == ["t7"]


def test_the_prefilter_never_loses_a_match():
    queries = ["a AND b", "(a OR b) AND c", "a NEAR b", "NOT x AND (a OR longer)", "a OR (b AND c)"]
    texts = ["a b c", "a", "b c", "longer", "a c x", "x a"]
    for query in queries:
        topic = compile_topic("t", "T", query, threshold=0.0)
        single = Matcher([topic])
        for text in texts:
            expected = single.explain("t", Document(text)).matched
            assert bool(single.match(Document(text))) is expected, (query, text)


def test_a_bad_query_in_the_config_names_the_topic_key_and_column(tmp_path):
    path = tmp_path / "newswatch.yaml"
    path.write_text(
        textwrap.dedent("""
        topics:
          - id: ok
            name: OK
            query: iran
          - id: broken
            name: Broken
            query: '("defence secretary" OR meet*'
    """)
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"{path}: topics[1].query (topic 'broken'): column 30: expected ')'" in message
    assert message.splitlines()[-1].index("^") == 4 + 29


def test_a_bad_exclude_and_an_unknown_list_are_config_errors(tmp_path):
    path = tmp_path / "newswatch.yaml"
    path.write_text("topics:\n  - {id: a, name: A, query: '@missing', exclude: 'x OR'}\n")
    with pytest.raises(
        ConfigError, match=r"topics\[0\]\.query \(topic 'a'\): column 1: unknown term list"
    ):
        load_config(path)
