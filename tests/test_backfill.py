"""Backfill from archived, paged and saved feeds into a real database, alerts by policy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug import Response

from alerts.destinations import alert_setup
from pipeline import store
from pipeline.backfill import backfill
from pipeline.config import BackfillConfig, BackfillSourceConfig, Config, FeedConfig, SlackConfig
from pipeline.errors import ConfigError
from pipeline.score import score_new_articles
from pipeline.store.schema import AlertRow, ArticleRow
from pipeline.topics import compile_topic
from tests import archive

TOPICS = [
    compile_topic(
        "defence",
        "Defence meetings",
        '"defence secretary" AND (meet* OR talks)',
        channel="#defence-watch",
    ),
    compile_topic("elections", "Elections", "election*", channel="#elections", threshold=0.3),
]


def serve(feed_server, documents: dict[str, str], prefix: str = "/history/") -> None:
    for name, text in documents.items():
        feed_server.feed(prefix + name, text.encode(), content_type="application/atom+xml")


def config(url: str, kind: str = "rfc5005", policy: str = "digest", **source) -> Config:
    feed = FeedConfig(
        name="Archive desk", url=url, backfill=BackfillSourceConfig(kind=kind, **source)
    )
    return Config(feeds=[feed], backfill=BackfillConfig(alerts=policy))


def stored(engine) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        return connection.execute(
            select(ArticleRow.title, ArticleRow.origin).order_by(ArticleRow.title)
        ).all()


@pytest.fixture
def archive_server(feed_server, tmp_path):
    docs = archive.rfc5005(tmp_path / "archive")
    serve(feed_server, docs)
    return feed_server


def test_an_rfc5005_archive_over_http(engine, archive_server):
    settings = config(archive_server.url("/history/feed.xml"))
    reports = backfill(engine, settings, *archive.WINDOW)
    (report,) = reports
    assert report.documents == 3 and report.reached_start and report.errors == []
    assert report.in_window == archive.IN_WINDOW == len(report.new_article_ids)
    rows = stored(engine)
    assert len(rows) == archive.IN_WINDOW and {origin for _, origin in rows} == {"backfill"}
    assert not any("Oslo" in title or "Quito" in title for title, _ in rows), (
        "days 0 and 4 are outside"
    )
    assert backfill(engine, settings, *archive.WINDOW)[0].new_article_ids == []
    assert len(stored(engine)) == archive.IN_WINDOW


def test_the_archive_stops_once_it_is_older_than_the_window(engine, archive_server):
    start, end = archive.DAY0 + timedelta(days=3), archive.DAY0 + timedelta(days=5)
    (report,) = backfill(engine, config(archive_server.url("/history/feed.xml")), start, end)
    assert report.documents == 2 and len(archive_server.hits("/history/archive-1.xml")) == 0


@pytest.mark.parametrize("rel", ["next", "previous"])
def test_a_paged_feed(engine, feed_server, rel):
    serve(feed_server, archive.paged(rel))
    (report,) = backfill(
        engine, config(feed_server.url("/history/page1"), kind="paged"), *archive.WINDOW
    )
    assert report.documents == 3 and report.in_window == archive.IN_WINDOW


def test_wordpress_paging_until_a_404(engine, feed_server):
    pages = archive.paged()
    for number, name in ((2, "page2"), (3, "page3")):
        feed_server.server.expect_request(
            "/blog/feed", query_string=f"paged={number}"
        ).respond_with_data(pages[name], content_type="application/atom+xml")
    feed_server.server.expect_request("/blog/feed", query_string="paged=4").respond_with_data(
        "not found", status=404
    )
    feed_server.feed("/blog/feed", pages["page1"].encode())
    late = archive.DAY0 + timedelta(days=-30)
    (report,) = backfill(
        engine, config(feed_server.url("/blog/feed"), kind="wordpress"), late, archive.WINDOW[1]
    )
    assert report.in_window == 12 and report.documents == 3 and report.errors == []


def test_a_site_that_ignores_the_page_number_stops_at_once(engine, feed_server):
    feed_server.feed("/blog/feed", archive.paged()["page2"].encode())  # every ?paged=N: same page
    late = archive.DAY0 + timedelta(days=-30)
    (report,) = backfill(
        engine, config(feed_server.url("/blog/feed"), kind="wordpress"), late, archive.WINDOW[1]
    )
    assert report.documents == 1 and len(feed_server.requests) == 2


def test_a_directory_of_saved_snapshots(engine, tmp_path):
    archive.snapshots(tmp_path / "saved")
    settings = config("https://unused.example/feed", kind="directory", path=str(tmp_path / "saved"))
    (report,) = backfill(engine, settings, *archive.WINDOW)
    assert report.documents == 5 and report.in_window > archive.IN_WINDOW  # overlapping snapshots
    assert len(report.new_article_ids) == archive.IN_WINDOW == len(stored(engine))


def test_a_broken_archive_link_is_reported_and_keeps_what_was_read(engine, feed_server, tmp_path):
    docs = archive.rfc5005(tmp_path / "a")
    serve(feed_server, {k: v for k, v in docs.items() if k != "archive-1.xml"})
    feed_server.handler("/history/archive-1.xml", lambda r: Response(status=500))
    (report,) = backfill(engine, config(feed_server.url("/history/feed.xml")), *archive.WINDOW)
    assert report.documents == 2 and "HTTP 500" in report.errors[0]
    assert len(report.new_article_ids) == 6  # days 2 and 3


def test_backfill_leaves_the_live_feeds_state_alone(engine, archive_server):
    settings = config(archive_server.url("/history/feed.xml"))
    backfill(engine, settings, *archive.WINDOW)
    (health,) = store.feed_health(engine)
    assert health.last_fetch_at is None and health.last_status is None


def test_an_empty_window_and_unknown_feed_are_errors(engine, archive_server):
    settings = config(archive_server.url("/history/feed.xml"))
    with pytest.raises(ConfigError, match="window is empty"):
        backfill(engine, settings, archive.WINDOW[1], archive.WINDOW[0])
    with pytest.raises(ConfigError, match="no feed with a backfill source named 'Nope'"):
        backfill(engine, settings, *archive.WINDOW, names=["Nope"])
    live_only = Config(feeds=[FeedConfig(name="Live", url=archive_server.url("/live.xml"))])
    assert backfill(engine, live_only, *archive.WINDOW) == []  # a scheduled run finds nothing


def alerts_after_backfill(engine, fake_slack, policy):
    settings = Config(
        slack=SlackConfig(api_url=fake_slack.api_url, min_interval=0),
        backfill=BackfillConfig(alerts=policy),
    )
    setup = alert_setup(settings, TOPICS, token=fake_slack.token)
    score_new_articles(engine, TOPICS)
    return setup.drain(engine, sleep=lambda s: None)


def test_backfilled_matches_go_out_as_one_digest_per_topic(engine, archive_server, fake_slack):
    backfill(engine, config(archive_server.url("/history/feed.xml")), *archive.WINDOW)
    report = alerts_after_backfill(engine, fake_slack, "digest")
    assert report.sent == 6 and report.digests == 2 and len(fake_slack.posts) == 2
    headers = sorted(str(p.payload["blocks"][0]["text"]["text"]) for p in fake_slack.posts)
    assert headers == [
        "Defence meetings: 3 matches in backfilled history",
        "Elections: 3 matches in backfilled history",
    ]
    backfill(engine, config(archive_server.url("/history/feed.xml")), *archive.WINDOW)
    assert (
        alerts_after_backfill(engine, fake_slack, "digest").sent == 0 and len(fake_slack.posts) == 2
    )


def test_backfill_policy_none_sends_nothing_but_keeps_the_matches(
    engine, archive_server, fake_slack
):
    backfill(
        engine, config(archive_server.url("/history/feed.xml"), policy="none"), *archive.WINDOW
    )
    report = alerts_after_backfill(engine, fake_slack, "none")
    assert report.sent == 0 and fake_slack.posts == []
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(AlertRow)).scalar_one() == 0


def test_backfill_policy_live_alerts_like_live(engine, archive_server, fake_slack):
    backfill(
        engine, config(archive_server.url("/history/feed.xml"), policy="live"), *archive.WINDOW
    )
    report = alerts_after_backfill(engine, fake_slack, "live")
    assert report.sent == 6 and report.digests == 0 and len(fake_slack.posts) == 6
