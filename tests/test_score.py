"""The scoring stage on a real database: new articles scored once, matches stored once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from pipeline import store
from pipeline.config import Config, FeedConfig, compile_topics, load_config
from pipeline.poll import poll
from pipeline.score import backtest, score_new_articles
from pipeline.store.matches import matches_for_article
from pipeline.store.schema import ArticleRow, TopicMatchRow
from pipeline.topics import compile_topic
from tests.conftest import EXAMPLES


def example(engine):
    config = load_config(EXAMPLES / "newswatch.yaml").config
    poll(engine, config)
    return config, compile_topics(config)


def count_matches(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(TopicMatchRow)).scalar_one()


def test_new_articles_are_scored_once_and_matches_stored_once(engine):
    _, topics = example(engine)
    first = score_new_articles(engine, topics)
    assert first.articles == 8
    assert first.new_matches == len(first.matches) == count_matches(engine) >= 2
    defence = [m for m in first.matches if m.topic_id == "defence-secretary-meetings"]
    titles = {store.get_article(engine, m.article_id).title for m in defence}
    assert "India-Israel Defence Talks Highlight R&D, Counterterror Collaboration" in titles
    stored = matches_for_article(engine, defence[0].article_id)
    assert stored[0].explanation["clauses"][0]["matched"] is True
    assert stored[0].explanation["snippet"]["highlights"]

    again = score_new_articles(engine, topics)
    assert (
        again.articles == 0 and again.matches == [] and count_matches(engine) == first.new_matches
    )


def test_a_rerun_of_the_same_batch_stores_nothing_twice(engine):
    _, topics = example(engine)
    first = score_new_articles(engine, topics)
    with engine.begin() as connection:  # as if the process died after storing, before marking
        connection.execute(update(ArticleRow).values(scored_at=None))
    second = score_new_articles(engine, topics)
    assert second.articles == 8 and second.new_matches == 0
    assert count_matches(engine) == first.new_matches


def test_editing_a_topic_does_not_rescore_old_articles(engine):
    _, topics = example(engine)
    score_new_articles(engine, topics)
    broader = [compile_topic("everything", "Everything", "the OR a OR and", threshold=0.0)]
    assert score_new_articles(engine, broader).articles == 0


def test_articles_stored_later_are_scored_with_the_current_topics(engine, tmp_path):
    _, topics = example(engine)
    score_new_articles(engine, topics)
    extra = tmp_path / "extra.xml"
    extra.write_text(
        "<rss version='2.0'><channel><title>x</title><item><title>Defence minister meets "
        "Japanese counterpart</title><link>https://x.example/d</link></item></channel></rss>"
    )
    poll(engine, Config(feeds=[FeedConfig(name="extra", url=str(extra))]))
    result = score_new_articles(engine, topics)
    assert result.articles == 1 and [m.topic_id for m in result.matches] == [
        "defence-secretary-meetings"
    ]


def test_backtest_lists_matches_and_writes_nothing(engine):
    _, topics = example(engine)
    defence = next(t for t in topics if t.id == "defence-secretary-meetings")
    found = list(backtest(engine, defence, datetime.now(UTC) - timedelta(days=36500)))
    assert len(found) == 2 and all(m.passed for _, m in found)
    assert count_matches(engine) == 0
    with engine.connect() as connection:
        unscored = connection.execute(
            select(func.count()).select_from(ArticleRow).where(ArticleRow.scored_at.is_(None))
        ).scalar_one()
    assert unscored == 8
    assert list(backtest(engine, defence, datetime.now(UTC))) == []  # nothing published since now
