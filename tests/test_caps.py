"""Hostile sizes: a 5 MB title, 100,000 items, keys too long to index. Stored capped, the
cutting recorded as the feed's warning, never silent and never a failed feed."""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from pipeline import store
from pipeline.config import Config, FeedConfig, FetchConfig
from pipeline.parse import MAX_CONTENT, MAX_ITEMS, MAX_SUMMARY, MAX_TITLE, parse_bytes
from pipeline.poll import poll
from pipeline.store.schema import ArticleRow, FetchLogRow

NOW = datetime(2026, 2, 16, 12, tzinfo=UTC)


def json_feed(items: list[dict]) -> bytes:
    return json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "Big", "items": items}
    ).encode()


def item(i: int, **fields) -> dict:
    published = (NOW - timedelta(minutes=i)).isoformat()
    return {"id": f"id-{i}", "url": f"https://big.example/{i}", "title": f"Item {i}",
            "date_published": published, **fields}  # fmt: skip


def test_a_5mb_title_and_huge_bodies_are_cut_and_said_so():
    words = "breaking " * 600_000  # 5.4 MB
    parsed = parse_bytes(
        json_feed([item(0, title=words, summary=words, content_text=words), item(1)]),
        "https://big.example/feed.json",
    )
    big, small = parsed.articles
    assert len(big.title) <= MAX_TITLE and big.title.startswith("breaking breaking")
    assert big.title.endswith("…") and len(big.summary) <= MAX_SUMMARY
    assert len(big.content) <= MAX_CONTENT and small.title == "Item 1"
    assert "cut 1 titles to 1,000 characters" in parsed.warning
    assert "cut 1 summaries" in parsed.warning and "cut 1 contents" in parsed.warning


def test_100000_items_keep_the_newest_and_say_so():
    items = [item(i) for i in range(100_000)]
    random.Random(3).shuffle(items)  # document order is not date order
    parsed = parse_bytes(json_feed(items), "https://big.example/feed.json")
    assert len(parsed.articles) == MAX_ITEMS
    assert {a.title for a in parsed.articles} == {f"Item {i}" for i in range(MAX_ITEMS)}
    assert "kept the newest 1,000 of 100,000 items" in parsed.warning


def test_fetch_max_items_is_configurable(engine, tmp_path):
    path = tmp_path / "feed.json"
    path.write_bytes(json_feed([item(i) for i in range(30)]))
    config = Config(feeds=[FeedConfig(name="big", url=str(path))], fetch=FetchConfig(max_items=10))
    (report,) = poll(engine, config).reports
    assert len(report.new_article_ids) == 10 and "kept the newest 10 of 30" in report.warning


def test_capped_feeds_are_stored_with_the_warning_in_the_log(engine, tmp_path):
    rng = random.Random(5)
    long_id = "".join(rng.choices(string.ascii_letters, k=5_000))  # too long for an index
    long_url = "https://big.example/" + "".join(rng.choices(string.ascii_letters, k=3_000))
    items = [item(i) for i in range(1_500)]
    items[0] = item(0, id=long_id, url=long_url, title="t " * 700_000)
    items[1] = item(1, id="nul\u0000id", url="https://big.example/a\u0000b", tags=["x\u0000y"])
    path = tmp_path / "feed.json"
    path.write_bytes(json_feed(items))
    config = Config(feeds=[FeedConfig(name="big", url=str(path))])

    (report,) = poll(engine, config).reports
    assert report.status == "ok", report.error
    assert len(report.new_article_ids) == MAX_ITEMS
    assert "kept the newest 1,000 of 1,500 items" in report.warning
    assert "cut 1 titles" in report.warning
    with engine.connect() as connection:
        longest = connection.execute(select(func.max(func.length(ArticleRow.title)))).scalar()
        guids = connection.execute(select(ArticleRow.guid)).scalars().all()
        (warning,) = connection.execute(select(FetchLogRow.warning)).scalars().all()
    assert longest <= MAX_TITLE and max(map(len, guids)) <= 1_000
    assert "nulid" in guids and "kept the newest" in warning
    assert store.feed_health(engine)[0].last_warning == warning
