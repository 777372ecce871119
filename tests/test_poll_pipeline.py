"""The poll cycle's stages overlap: parsing in worker processes for a big cycle, storing in a
writer thread in grouped transactions. Real HTTP on loopback hosts, real databases, real
processes (a parser process is killed with SIGKILL)."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from pipeline import store
from pipeline.config import Config, FeedConfig, FetchConfig
from pipeline.parsepool import IN_FLIGHT, POOL_MIN_FEEDS, Parser, usable_cores
from pipeline.poll import poll
from pipeline.records import Article, FetchedFeed
from pipeline.store.schema import ArticleRow, FeedRow, FetchLogRow
from pipeline.writer import GROUP_ARTICLES, MAX_GROUP, Writer
from tests import feed_farm
from tests.conftest import fetched
from tests.test_isolation import refuse_inserts_for

ITEMS = 80
needs_two_cores = pytest.mark.skipif(
    usable_cores() < 2, reason="a parse pool needs two cores (CI and this machine have them)"
)


@pytest.fixture
def farm():
    # ITEMS items make a document of ~25 KB, past POOL_MIN_BYTES: parsed in a worker.
    farm = feed_farm.start([POOL_MIN_FEEDS, POOL_MIN_FEEDS], items=ITEMS)
    farm.prebuild()
    yield farm
    feed_farm.stop(farm)


def farm_config(farm: feed_farm.FeedFarm, **fetch: object) -> Config:
    feeds = [FeedConfig(name=name, url=url) for name, url in farm.feeds]
    return Config(feeds=feeds, fetch=FetchConfig(**{"read_timeout": 10, **fetch}))


def count(engine, table) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


@needs_two_cores
def test_a_big_cycle_parses_in_one_pool_then_stores_its_304s(engine, farm, caplog):
    config = farm_config(farm, concurrency=16, per_host=4)
    first = poll(engine, config)
    assert first.count("ok") == len(farm.feeds) == 2 * POOL_MIN_FEEDS
    assert first.parse_pools == 1
    assert "did not stop" not in caplog.text, "the workers exit when the cycle ends"
    assert worker_pids() == []
    assert count(engine, ArticleRow) == len(first.new_article_ids) == ITEMS * len(farm.feeds)

    second = poll(engine, config, force=True)
    assert second.count("not_modified") == len(farm.feeds) and second.new_article_ids == []
    assert count(engine, FetchLogRow) == 2 * len(farm.feeds)


def test_a_small_cycle_parses_without_a_pool(engine, farm):
    config = farm_config(farm)
    config = config.model_copy(update={"feeds": config.feeds[: POOL_MIN_FEEDS - 1]})
    result = poll(engine, config)
    assert result.count("ok") == POOL_MIN_FEEDS - 1 and result.parse_pools == 0
    assert count(engine, ArticleRow) == ITEMS * (POOL_MIN_FEEDS - 1)


def worker_pids() -> list[int]:
    """The parser processes: this process's children forked from it (same command line)."""
    ours = Path("/proc/self/cmdline").read_bytes()
    return [p for p in _children(os.getpid()) if Path(f"/proc/{p}/cmdline").read_bytes() == ours]


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


@needs_two_cores
def test_a_parser_process_killed_mid_cycle_loses_no_feed(engine, farm, caplog):
    killed: list[int] = []

    def kill_the_parsers_once(report) -> None:
        if not killed:
            killed.extend(worker_pids())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)  # as a crash in a C parser or the OOM killer would

    result = poll(engine, farm_config(farm), on_feed=kill_the_parsers_once)
    assert killed, "the parser processes were found and killed"
    assert result.failed == 0 and result.count("ok") == len(farm.feeds)
    assert "a parse worker died" in caplog.text, "documents were still going to the pool"
    assert result.parse_pools == 1, "the rest of the cycle was parsed in a thread"
    assert count(engine, ArticleRow) == ITEMS * len(farm.feeds)


@needs_two_cores
def test_a_cancelled_parse_gives_its_worker_back():
    """A poll cancelled mid-parse must not leave the workers' places taken: with every place
    lost, the next big document would wait for a worker forever."""
    places = usable_cores() * IN_FLIGHT

    def document(number: int) -> FetchedFeed:
        return fetched(feed_farm.feed_body(number, ITEMS))

    async def cycle(parser: Parser) -> list[int]:
        waiting = [asyncio.create_task(parser.parse(document(n))) for n in range(places)]
        await asyncio.sleep(0.01)
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)
        parsed = [parser.parse(document(n)) for n in range(places, 3 * places)]
        return [len(p.articles) for p in await asyncio.wait_for(asyncio.gather(*parsed), 60)]

    with Parser(POOL_MIN_FEEDS, max_bytes=10_000_000, max_items=1_000) as parser:
        assert parser.pools_started == 1
        assert asyncio.run(cycle(parser)) == [ITEMS] * (2 * places)
        assert parser.in_processes, "the workers are still in use"


def turns(engine, how_many: int, etag: str = '"v1"') -> list[tuple[store.FetchRecord, list]]:
    now = datetime.now(UTC)
    feeds = [
        FeedConfig(name=f"feed {n:03d}", url=f"https://news{n}.example/rss")
        for n in range(how_many)
    ]
    scheduled = store.sync_feeds(engine, feeds, now)
    result = []
    for entry in scheduled:
        source = entry.source
        record = store.FetchRecord(
            source, now, "ok", now + timedelta(hours=1), http_status=200, items_seen=1, etag=etag
        )
        article = Article(
            feed_id=source.id,
            guid=f"{source.name}-1",
            url=f"https://news.example/{source.id}",
            canonical_url=f"https://news.example/{source.id}",
            title=f"Council budget vote {source.id}",
            summary="",
            content="",
            author=None,
            tags=(),
            published_at=now,
            published_at_missing=False,
            fetched_at=now,
            content_hash=f"hash-{source.id}",
        )
        result.append((record, [article]))
    return result


def test_turns_that_queued_up_are_written_in_groups(engine):
    written: list[tuple[str, int]] = []
    writer = Writer(engine, lambda r, ids: written.append((r.status, len(ids))), lambda r, e: r)
    queued = turns(engine, MAX_GROUP + 50)
    for record, articles in queued:
        writer.put(record, articles)  # before the writer starts: all of them are waiting
    with writer:
        pass
    assert writer.transactions == 2
    assert written == [("ok", 1)] * len(queued)
    assert count(engine, ArticleRow) == count(engine, FetchLogRow) == len(queued)
    with engine.connect() as connection:
        etags = connection.execute(select(FeedRow.etag)).scalars().all()
    assert set(etags) == {'"v1"'}


def test_a_group_is_written_once_it_holds_enough_articles(engine):
    half = GROUP_ARTICLES // 2
    queued = [
        (
            record,
            [
                replace(article, guid=f"{article.guid}-{n}", url=None, canonical_url=None)
                for n in range(half)
                for article in articles
            ],
        )
        for record, articles in turns(engine, 4)
    ]
    writer = Writer(engine, lambda r, ids: None, lambda r, e: r)
    for record, articles in queued:
        writer.put(record, articles)  # all waiting: only the article count splits them
    with writer:
        pass
    assert writer.transactions == 2
    assert count(engine, ArticleRow) == 4 * half


def test_a_failing_group_is_written_feed_by_feed_and_no_etag_goes_without_its_articles(engine):
    queued = turns(engine, 5)
    refused = queued[2][0].source
    refuse_inserts_for(engine, refused.id)
    outcomes: dict[str, str] = {}

    def failed(record: store.FetchRecord, error: Exception) -> store.FetchRecord:
        return store.FetchRecord(
            record.source, record.started_at, "store_error", record.next_fetch_at, error=str(error)
        )

    writer = Writer(engine, lambda r, ids: outcomes.update({r.source.name: r.status}), failed)
    for record, articles in queued:
        writer.put(record, articles)
    with writer:
        pass
    assert outcomes[refused.name] == "store_error"
    assert sorted(outcomes.values()) == ["ok"] * 4 + ["store_error"]
    assert count(engine, ArticleRow) == 4
    with engine.connect() as connection:
        state = dict(connection.execute(select(FeedRow.name, FeedRow.etag)).all())
    assert state.pop(refused.name) is None, "no ETag was saved without the articles"
    assert set(state.values()) == {'"v1"'}
