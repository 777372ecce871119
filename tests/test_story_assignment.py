"""Story assignment in the database: the same stories as placing every article in one index,
reading only the candidates (not the table), and safe with two processes at once."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from benchmarks.story_eval import variants
from benchmarks.story_history import feed_id, insert_history, unplaced, vocabulary_texts
from pipeline import store
from pipeline.store.articles import insert_articles
from pipeline.store.schema import ArticleRow, StoryKeyRow, StoryRow
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


def test_a_batch_spread_over_a_year_reads_its_candidates_not_the_table(engine):
    real = vocabulary_texts(12, YEAR, NOW, copies=0, seed=4)[:12]
    insert_history(engine, 8_000, YEAR, NOW, real=real)  # placed: about 22 a day for a year
    copies = [(when + timedelta(hours=10), *next(iter(variants(title, summary).values())))
              for when, title, summary in real]  # fmt: skip
    spread = [(YEAR + (NOW - YEAR) * (i + 0.5) / 40, f"Item {i} on the harbour strike",
               f"Dockers walk out at berth {i}.") for i in range(40)]  # fmt: skip
    add_unplaced(engine, copies + spread)

    report = assign_stories(engine)
    assert report.assigned == len(copies) + len(spread)
    assert report.joined == len(copies)
    with engine.connect() as connection:
        story_of = dict(connection.execute(select(ArticleRow.title, ArticleRow.story_id)).all())
    assert all(story_of[c[1]] == story_of[r[1]] for c, r in zip(copies, real, strict=True))
    # Every stored article of the year is in some batch article's window; only the copies'
    # originals share a bucket key or a text with one.
    assert report.loaded == len(real), "the candidates are read, not the table"


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


def test_the_migration_stores_the_keys_of_articles_placed_before_it(engine):
    texts = vocabulary_texts(40, NOW - timedelta(days=30), NOW, seed=12)
    add_unplaced(engine, texts)
    assign_stories(engine)
    written = story_keys(engine)
    assert len(written) == 16 * len(texts)
    store.downgrade(engine, "0008")  # the database as it was before the keys
    store.upgrade(engine)
    assert story_keys(engine) == written

    # Later copies find their originals through the filled keys.
    late = [(when + timedelta(hours=30), f"{title} (updated)", summary)
            for when, title, summary in texts[::5]]  # fmt: skip
    add_unplaced(engine, late, "late")
    assert assign_stories(engine).new_stories == 0


def story_keys(engine) -> set[tuple]:
    with engine.connect() as connection:
        return set(connection.execute(select(StoryKeyRow.__table__)).all())


def test_texts_without_words_share_every_bucket_and_still_give_the_stories_of_one_index(engine):
    # Empty texts (one content hash) and punctuation-only ones (a hash each) all have the same
    # signature, so every one of their bucket keys is shared by all of them.
    def wordless(start: datetime, count: int, seed: int) -> list[tuple[datetime, str, str]]:
        return [(start + timedelta(minutes=37 * i), "" if i % 3 else "!" * (seed + i), "")
                for i in range(count)]  # fmt: skip

    first = wordless(NOW - timedelta(days=6), 150, 1)
    add_unplaced(engine, first + vocabulary_texts(30, first[0][0], first[-1][0], seed=5))
    assign_stories(engine, batch_size=50)
    later = wordless(NOW - timedelta(days=2), 60, 400)
    add_unplaced(engine, later + vocabulary_texts(10, later[0][0], later[-1][0], seed=6), "late")
    report = assign_stories(engine, batch_size=50)

    found, rows, stories = stored_stories(engine)
    assert found == reference(engine)
    assert report.joined > 40
    assert_consistent(rows, stories)


def test_an_identical_text_beyond_the_window_does_not_hide_a_near_copy_within_it(engine):
    (when, title, summary), *_ = vocabulary_texts(1, NOW, NOW, copies=0, seed=8)
    variant = next(iter(variants(title, summary).values()))
    add_unplaced(engine, [(when, title, summary), (when + timedelta(hours=100), *variant)])
    assign_stories(engine)  # two stories: the variant came 100 hours later
    later = [(when + timedelta(hours=30), "Harbour strike enters second week", "Dockers out."),
             (when + timedelta(hours=90), title, summary)]  # fmt: skip
    add_unplaced(engine, later, "late")
    assert assign_stories(engine).joined == 1

    with engine.connect() as connection:
        story_of = dict(connection.execute(select(ArticleRow.guid, ArticleRow.story_id)).all())
    assert story_of["late-1"] == story_of["new-1"] != story_of["new-0"]
