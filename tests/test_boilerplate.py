"""A sentence a feed repeats in item after item is the feed's, not the story's: blanked."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pipeline import store
from pipeline.config import FeedConfig
from pipeline.parse import parse_feed
from pipeline.score import backtest, score_new_articles
from pipeline.topics import Document, Matcher, compile_topic
from pipeline.topics.boilerplate import learn_boilerplate
from tests.conftest import CORPUS, fetched

PODCAST = "Listen to today's episode about the election on Apple Podcasts or Spotify."
STORIES = [
    ("Storm floods the coast", "Rain fell all week on the coast. "),
    ("Rail strike ends", "Drivers went back to work on Monday. "),
    ("Museum reopens", "The museum opened its doors after two years. "),
    ("Snap election called", "The prime minister called an election for March. "),
]


def feed_documents() -> list[Document]:
    return [Document(title, summary + PODCAST) for title, summary in STORIES]


def test_a_sentence_in_several_items_is_blanked_in_place_and_the_story_kept():
    documents = feed_documents()
    boilerplate = learn_boilerplate(documents)
    stripped = boilerplate.strip(documents[0])
    assert stripped.title == documents[0].title
    assert stripped.summary.startswith("Rain fell all week on the coast.")
    assert "Podcasts" not in stripped.summary
    assert len(stripped.summary) == len(documents[0].summary)  # offsets do not move


def test_an_election_named_only_in_the_feeds_podcast_line_matches_nothing():
    topic = compile_topic("elections", "Elections", "election")
    matcher = Matcher([topic])
    documents = feed_documents()
    boilerplate = learn_boilerplate(documents)
    passed = [d.title for d in documents if any(m.passed for m in matcher.match(d))]
    assert len(passed) == 4  # without the mechanism, every item of the feed
    passed = [
        d.title for d in documents if any(m.passed for m in matcher.match(boilerplate.strip(d)))
    ]
    assert passed == ["Snap election called"]


def test_a_sentence_in_two_items_only_and_short_repeats_are_kept():
    documents = [
        Document("a", "Talks on the truce resumed in Cairo. Read more."),
        Document("b", "Talks on the truce resumed in Cairo. Read more."),
        Document("c", "Other news. Read more."),
    ]
    assert learn_boilerplate(documents).passages == frozenset()


def test_scoring_stored_articles_blanks_what_their_feed_repeats(engine):
    source = store.sync_feeds(
        engine, [FeedConfig(name="cbs", url="https://cbs.example/rss")], datetime.now(UTC)
    )[0].source
    parsed = parse_feed(fetched(CORPUS / "news_feeds/ffp_0c1cef22da7ddc10__cbsnews_world.xml"))
    articles = [
        replace(a, feed_id=source.id, summary=f"{PODCAST} {a.summary}") for a in parsed.articles[:5]
    ]
    store.store_articles(engine, articles)
    topic = compile_topic("elections", "Elections", "election AND (episode OR spotify)")
    result = score_new_articles(engine, [topic])
    assert result.articles == 5 and result.matches == []
    since = datetime.now(UTC) - timedelta(days=36500)
    assert list(backtest(engine, topic, since)) == []
