"""A whole polling cycle into a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from werkzeug import Response

from pipeline import store
from pipeline.config import Config, FeedConfig, FetchConfig
from pipeline.poll import poll
from pipeline.store.schema import ArticleRow, FeedRow, FetchLogRow
from tests.conftest import CORPUS

NEWS = sorted((CORPUS / "news_feeds").iterdir())[:8]


def config_for(feed_server, paths=NEWS, **fetch) -> Config:
    feeds = []
    for index, path in enumerate(paths):
        feed_server.feed(f"/feeds/{index}", path.read_bytes(), gzip=index % 2 == 0)
        feeds.append(FeedConfig(name=path.stem, url=feed_server.url(f"/feeds/{index}")))
    return Config(feeds=feeds, fetch=FetchConfig(**{"read_timeout": 5, **fetch}))


def count(engine, table) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_second_poll_stores_nothing_and_makes_only_conditional_requests(engine, feed_server):
    config = config_for(feed_server)
    first = poll(engine, config)
    assert first.failed == 0 and first.count("ok") == len(NEWS)
    stored = count(engine, ArticleRow)
    assert stored == len(first.new_article_ids) > 100

    second = poll(engine, config, force=True)
    assert second.count("not_modified") == len(NEWS)
    assert second.new_article_ids == [] and count(engine, ArticleRow) == stored
    for index in range(len(NEWS)):
        conditional = feed_server.hits(f"/feeds/{index}")[1]
        assert conditional.get("If-None-Match")
    with engine.connect() as connection:
        statuses = connection.execute(select(FetchLogRow.status, FetchLogRow.items_new)).all()
    assert sorted(set(statuses))[0][0] == "not_modified"
    assert all(new == 0 for status, new in statuses if status == "not_modified")


def test_a_changed_feed_body_adds_only_its_new_items(engine, feed_server):
    path = CORPUS / "news_feeds/ffp_1796df62c4a287cc__bbc_news_world.xml"
    body = path.read_bytes()
    feed_server.feed("/bbc", body)
    config = Config(feeds=[FeedConfig(name="bbc", url=feed_server.url("/bbc"))])
    poll(engine, config)
    before = count(engine, ArticleRow)
    feed_server.server.clear_all_handlers()
    extra = (b"<item><title>Fresh item</title><link>https://www.bbc.com/news/fresh?at_medium=RSS</link>"
             b"<guid>fresh-1</guid></item></channel>")  # fmt: skip
    feed_server.feed("/bbc", body.replace(b"</channel>", extra))
    result = poll(engine, config, force=True)
    assert len(result.new_article_ids) == 1 and count(engine, ArticleRow) == before + 1


def test_only_due_feeds_are_fetched(engine, feed_server):
    config = config_for(feed_server, NEWS[:2])
    poll(engine, config)
    again = poll(engine, config)
    assert again.reports == [] and again.not_due == 2
    later = poll(engine, config, now=datetime.now(UTC) + timedelta(hours=1))
    assert len(later.reports) == 2


def test_the_same_article_in_two_feeds_is_stored_once(engine, feed_server):
    path = NEWS[0]
    feed_server.feed("/a", path.read_bytes())
    feed_server.feed("/b", path.read_bytes())
    config = Config(feeds=[FeedConfig(name="a", url=feed_server.url("/a")),
                           FeedConfig(name="b", url=feed_server.url("/b"))])  # fmt: skip
    result = poll(engine, config)
    per_feed = {r.feed_name: len(r.new_article_ids) for r in result.reports}
    assert sorted(per_feed.values())[0] == 0, per_feed
    assert count(engine, ArticleRow) == result.articles_seen // 2


def test_failures_are_recorded_with_backoff_and_do_not_stop_the_others(engine, feed_server):
    feed_server.feed("/good", NEWS[0].read_bytes())
    feed_server.handler("/missing", lambda r: Response(status=404))
    feed_server.handler("/busy", lambda r: Response(status=429, headers={"Retry-After": "7200"}))
    feed_server.handler(
        "/page", lambda r: Response("<html><body>hi</body></html>", content_type="text/html")
    )
    config = Config(
        feeds=[FeedConfig(name=n, url=feed_server.url(f"/{n}"), poll_interval=600)
               for n in ("good", "missing", "busy", "page")]
    )  # fmt: skip
    started = datetime.now(UTC)
    result = poll(engine, config)
    statuses = {r.feed_name: r.status for r in result.reports}
    assert statuses == {
        "good": "ok",
        "missing": "http_4xx",
        "busy": "rate_limited",
        "page": "not_a_feed",
    }
    health = {h.name: h for h in store.feed_health(engine)}
    assert health["good"].consecutive_failures == 0 and health["good"].articles > 0
    assert health["missing"].consecutive_failures == 1 and "404" in health["missing"].last_error
    assert "HTML page" in health["page"].last_error
    assert health["busy"].next_fetch_at >= started + timedelta(seconds=7200)
    # second failure in a row doubles the wait again
    poll(engine, config, force=True)
    missing = {h.name: h for h in store.feed_health(engine)}["missing"]
    assert missing.consecutive_failures == 2
    assert missing.next_fetch_at - missing.last_fetch_at >= timedelta(seconds=600 * 4)


def test_a_permanent_redirect_updates_the_stored_url(engine, feed_server):
    feed_server.feed("/new", NEWS[0].read_bytes())
    feed_server.handler("/old", lambda r: Response(status=301, headers={"Location": "/new"}))
    config = Config(feeds=[FeedConfig(name="moved", url=feed_server.url("/old"))])
    poll(engine, config)
    assert store.feed_health(engine)[0].url == feed_server.url("/new")
    poll(engine, config, force=True)
    assert feed_server.hits("/new")[-1].get("If-None-Match"), "the moved URL is polled directly"
    assert len(feed_server.hits("/old")) == 1


def test_changing_a_feeds_url_in_the_config_resets_it(engine, feed_server):
    feed_server.feed("/one", NEWS[0].read_bytes())
    feed_server.feed("/two", NEWS[1].read_bytes())
    poll(engine, Config(feeds=[FeedConfig(name="f", url=feed_server.url("/one"))]))
    poll(engine, Config(feeds=[FeedConfig(name="f", url=feed_server.url("/two"))]))
    assert "If-None-Match" not in feed_server.hits("/two")[0]
    assert store.feed_health(engine)[0].url == feed_server.url("/two")


def test_all_corpus_feeds_poll_without_crashing_the_run(engine, tmp_path):
    feeds = [FeedConfig(name=p.name, url=str(p))
             for p in sorted((CORPUS / "edge_cases").iterdir()) + NEWS]  # fmt: skip
    result = poll(engine, Config(feeds=feeds))
    assert len(result.reports) == len(feeds)
    assert {r.status for r in result.reports} <= {"ok", "not_a_feed"}
    assert result.count("ok") >= len(feeds) - 3
    assert count(engine, FeedRow) == len(feeds)


def test_two_pollers_at_once_store_each_article_exactly_once(postgres_only_url, feed_server):
    engine = store.connect(postgres_only_url)
    store.upgrade(engine)
    config = config_for(feed_server, sorted((CORPUS / "news_feeds").iterdir()))
    store.sync_feeds(engine, config.feeds, datetime.now(UTC))
    barrier, errors, results = threading.Barrier(2), [], []

    def poller() -> None:
        own = store.connect(postgres_only_url)
        try:
            barrier.wait()
            results.append(poll(own, config, force=True))
        except Exception as exc:  # the assertion below reports it
            errors.append(exc)
        finally:
            own.dispose()

    threads = [threading.Thread(target=poller) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(r.failed == 0 for r in results)
    new_ids = results[0].new_article_ids + results[1].new_article_ids
    assert len(new_ids) == len(set(new_ids)) == count(engine, ArticleRow) > 500
    with engine.connect() as connection:
        duplicates = connection.execute(
            select(ArticleRow.canonical_url).group_by(ArticleRow.canonical_url)
            .having(func.count() > 1).where(ArticleRow.canonical_url.is_not(None))
        ).all()  # fmt: skip
    assert duplicates == []
    engine.dispose()
