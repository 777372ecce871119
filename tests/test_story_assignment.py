"""Story assignment in the database: the same stories as placing every article in one index,
read bounded by the window (not the table), and safe with two processes at once."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from benchmarks.story_history import feed_id, insert_history, unplaced, vocabulary_texts
from pipeline import store
from pipeline.store.articles import insert_articles
from pipeline.store.schema import ArticleRow, StoryRow
from pipeline.store.stories import assign_stories
from pipeline.stories import DEFAULT_WINDOW, StoryIndex, signature

NOW = datetime(2026, 2, 16, tzinfo=UTC)
YEAR = NOW - timedelta(days=365)


def add_unplaced(engine, texts, prefix: str = "new") -> None:
    articles = unplaced(feed_id(engine, prefix), texts, prefix)
    with engine.begin() as connection:
        insert_articles(connection, articles)


def stored_stories(engine) -> tuple[set[frozenset[int]], list, list]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(ArticleRow.id, ArticleRow.story_id, ArticleRow.published_at)
        ).all()
        stories = connection.execute(
            select(StoryRow.id, StoryRow.article_count, StoryRow.last_seen_at)
        ).all()
    members: dict[int, list[int]] = defaultdict(list)
    for article, story, _ in rows:
        members[story].append(article)
    return {frozenset(m) for m in members.values()}, rows, stories


def reference(engine) -> set[frozenset[int]]:
    """Every article placed one by one, in publication order, in one index holding them all."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(ArticleRow.id, ArticleRow.title, ArticleRow.summary, ArticleRow.content_hash,
                   ArticleRow.published_at).order_by(ArticleRow.published_at, ArticleRow.id)
        ).all()  # fmt: skip
    index, members = StoryIndex(DEFAULT_WINDOW), defaultdict(set)
    for row in rows:
        sig = signature(row.title, row.summary)
        found = index.find(sig, row.content_hash, row.published_at)
        story = found[0] if found else row.id
        members[story].add(row.id)
        index.add(row.id, story, sig, row.content_hash, row.published_at)
    return {frozenset(m) for m in members.values()}


def assert_consistent(rows, stories) -> None:
    counts: dict[int, int] = defaultdict(int)
    latest: dict[int, datetime] = {}
    for _, story, published in rows:
        assert story is not None
        counts[story] += 1
        latest[story] = max(latest.get(story, published), published)
    assert {s.id: s.article_count for s in stories} == dict(counts), "no empty or double counts"
    assert {s.id: s.last_seen_at for s in stories} == latest


def test_batches_spread_over_a_year_give_the_stories_of_one_index(engine):
    # Three busy weeks far apart, and copies on both sides of the 72-hour window.
    texts = []
    for month, seed in ((1, 1), (6, 2), (11, 3)):
        start = YEAR + timedelta(days=30 * month)
        texts += vocabulary_texts(60, start, start + timedelta(days=7), seed=seed)
    add_unplaced(engine, texts)
    expected = reference(engine)
    assert len(expected) < len(texts) - 40, "the data has many copies to join"

    report = assign_stories(engine, batch_size=40)
    found, rows, stories = stored_stories(engine)
    assert found == expected
    assert report.assigned == len(texts) and report.new_stories == len(expected)
    assert_consistent(rows, stories)

    # Later copies, published before and after placed articles: they join their originals.
    late = [(when + timedelta(hours=50), title, summary) for when, title, summary in texts[::7]]
    add_unplaced(engine, late, "late")
    assert assign_stories(engine, batch_size=40).new_stories == 0
    found, rows, stories = stored_stories(engine)
    assert len(found) == len(expected)
    assert_consistent(rows, stories)
    with engine.connect() as connection:
        story_of = dict(connection.execute(select(ArticleRow.guid, ArticleRow.story_id)).all())
    assert all(story_of[f"late-{k}"] == story_of[f"new-{7 * k}"] for k in range(len(late)))


def test_a_batch_with_a_year_old_item_reads_the_window_not_the_table(engine):
    insert_history(engine, 8_000, YEAR, NOW)  # placed: about 22 a day for a year
    old = YEAR + timedelta(days=40, hours=5)
    recent = [NOW - timedelta(hours=h) for h in range(1, 30)]
    texts = vocabulary_texts(1, old, old + timedelta(hours=1), copies=0, seed=4)
    texts += [(when, f"Fresh item {i} about the harbour strike", f"Dockers walk out {i}.")
              for i, when in enumerate(recent)]  # fmt: skip
    add_unplaced(engine, texts)

    report = assign_stories(engine)
    assert report.assigned == len(texts)
    window = DEFAULT_WINDOW
    with engine.connect() as connection:
        near = connection.execute(
            select(func.count()).select_from(ArticleRow).where(
                ArticleRow.story_id.is_not(None),
                ((ArticleRow.published_at >= old - window)
                 & (ArticleRow.published_at <= old + 2 * window))
                | ((ArticleRow.published_at >= min(recent) - window)
                   & (ArticleRow.published_at <= max(recent) + 2 * window)),
            )
        ).scalar_one()  # fmt: skip
    assert 0 < report.loaded <= near < 8_000 / 20, "bounded by the window, not the table"


@pytest.mark.parametrize("processes", [2])
def test_two_processes_at_once_place_each_article_once(database_url, processes):
    engine = store.connect(database_url)
    store.upgrade(engine)
    texts = vocabulary_texts(150, NOW - timedelta(days=20), NOW, seed=9)
    add_unplaced(engine, texts)
    expected = reference(engine)
    barrier, reports, errors = threading.Barrier(processes), [], []

    def assigner() -> None:
        own = store.connect(database_url)  # its own connections, as another process has
        try:
            barrier.wait()
            reports.append(assign_stories(own, batch_size=25))
        except Exception as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=assigner) for _ in range(processes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(r.assigned for r in reports) == len(texts), "no article placed twice"
    assert sum(r.new_stories for r in reports) == len(expected)
    found, rows, stories = stored_stories(engine)
    assert found == expected, "the same stories as one process placing them all"
    assert_consistent(rows, stories)
    engine.dispose()
