"""Near misses: what a topic almost caught, most promising first, with what was missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from pipeline.config import load_config
from pipeline.poll import poll
from pipeline.score import near_misses
from pipeline.store.schema import ArticleRow, TopicMatchRow
from pipeline.topics import Document, MissKind, compile_topic, near_miss
from tests.conftest import EXAMPLES

LISTS = {
    "offices": ["defence minister", "defence secretary", "army chief"],
    "meeting": ["meet", "=met", "talks", "counterpart"],
}
TOPIC = compile_topic(
    "defence", "Defence", "@offices AND @meeting", exclude="cricket", term_lists=LISTS
)


def miss(document: Document, topic=TOPIC):
    return near_miss(topic, document)


def test_all_clauses_but_one_is_a_near_miss_naming_the_missing_clause():
    found = miss(Document("Defence minister unveils the budget"))
    assert found is not None and found.kind is MissKind.MISSING_CLAUSE
    assert found.missing == ("@meeting",)
    assert found.why == "missing clause: @meeting"
    assert 0 < found.promise <= 0.5  # one clause of two
    assert found.match.explanation.snippet.highlights


def test_a_score_just_under_the_threshold_is_a_near_miss():
    late = " ".join(f"w{i}" for i in range(80))
    found = miss(Document("x", f"{late} the defence minister met his counterpart"))
    assert found is not None and found.kind is MissKind.UNDER_THRESHOLD
    assert found.match.score < 0.5 and found.why.startswith("under threshold: score 0.4")
    assert found.promise == round(found.match.score / 0.5, 3)


def test_an_excluded_article_is_a_near_miss_saying_what_excluded_it():
    found = miss(Document("Cricket board: defence minister meets players"))
    assert found is not None and found.kind is MissKind.EXCLUDED
    assert found.missing == ("cricket (title)",) and found.promise == 1.0


def test_a_pass_or_an_article_far_from_the_topic_is_no_near_miss():
    assert miss(Document("Defence minister meets his Japanese counterpart")) is None
    assert miss(Document("Monsoon rains disrupt rail services")) is None
    assert miss(Document("Talks resume")).missing == ("@offices",)  # all clauses but one
    deep = " ".join(f"w{i}" for i in range(400))
    assert miss(Document("x", "", f"{deep} the defence minister met his counterpart")) is None


def test_stored_articles_most_promising_first_and_nothing_written(engine):
    config = load_config(EXAMPLES / "newswatch.yaml").config
    poll(engine, config)
    since = datetime.now(UTC) - timedelta(days=36500)
    found = near_misses(engine, TOPIC, since)
    titles = [f.article.title for f in found]
    assert titles[0] == "Cricket board meeting decides on new selection panel"
    assert "Japan’s defence minister visits Manila for maritime security dialogue" not in titles
    promises = [f.near_miss.promise for f in found]
    assert promises == sorted(promises, reverse=True) and len(found) >= 2
    assert near_misses(engine, TOPIC, since, limit=1) == found[:1]
    assert near_misses(engine, TOPIC, datetime.now(UTC)) == []
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(TopicMatchRow)).scalar() == 0
        unscored = ArticleRow.scored_at.is_(None)
        assert connection.execute(select(func.count()).where(unscored)).scalar() == 8


def test_one_alternative_of_an_or_missing_a_part_and_a_near_too_far_apart_are_near_misses():
    topic = compile_topic(
        "d", "D", "(@offices NEAR/5 @meeting) OR (tariff AND steel)", term_lists=LISTS
    )
    alone = miss(Document("Defence minister unveils the budget"), topic)
    assert alone is not None and alone.missing == ("@meeting",)
    apart = " ".join(f"w{i}" for i in range(10))
    far = miss(Document(f"Defence minister {apart} meets counterpart"), topic)
    assert far is not None and far.missing == ("(@offices NEAR/5 @meeting) (too far apart)",)
    assert far.promise > alone.promise
    assert miss(Document("Steel output rises"), topic).missing == ("tariff",)
    assert miss(Document("Defence minister meets counterpart"), topic) is None  # passes
