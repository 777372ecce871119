"""Case 3 of the reliability issue, over real HTTP: a feed's redirect (or a link a backfill
source follows) never reaches an internal service on another origin, nothing from it is stored,
and a permanent redirect never moves the feed there. Imports only what today's poll and
backfill offer, so the same tests show the old behaviour failing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from werkzeug import Response

from pipeline import store
from pipeline.backfill import backfill
from pipeline.config import BackfillSourceConfig, Config, FeedConfig, FetchConfig
from pipeline.fetch import FetchLimits, fetch_one
from pipeline.poll import poll
from pipeline.records import FeedSource, FetchedFeed
from pipeline.store.schema import ArticleRow
from tests.conftest import CORPUS, FeedServer

METADATA_PATH = "/latest/meta-data/iam/security-credentials/"
# What a metadata service answers, shaped as a feed so that, if it were fetched, it would be
# stored as an article (and could be matched and posted to Slack).
CREDENTIALS = (
    b"<rss version='2.0'><channel><title>metadata</title><item><title>AccessKeyId ASIAXXSECRET"
    b"</title><link>http://169.254.169.254/x</link><description>SecretAccessKey wJalrXUtnFEMI"
    b"</description></item></channel></rss>"
)
BBC = (CORPUS / "news_feeds/ffp_1796df62c4a287cc__bbc_news_world.xml").read_bytes()
LIMITS = FetchLimits(connect_timeout=2, read_timeout=2, total_timeout=10)


@pytest.fixture
def internal(second_server: FeedServer) -> FeedServer:
    """An internal service on 127.0.0.1, on another port than the feeds (another origin)."""
    second_server.feed(METADATA_PATH, CREDENTIALS)
    return second_server


def articles(engine) -> list[str]:
    with engine.connect() as connection:
        return connection.execute(select(ArticleRow.title)).scalars().all()


def redirect(to: str, status: int = 302):
    return lambda request: Response(status=status, headers={"Location": to})


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_to_another_local_port_is_refused_and_nothing_is_stored(
    engine, feed_server, internal, status
):
    feed_server.handler("/feed", redirect(internal.url(METADATA_PATH), status))
    config = Config(feeds=[FeedConfig(name="evil", url=feed_server.url("/feed"))])
    (report,) = poll(engine, config).reports
    assert report.status == "blocked"
    assert "127.0.0.1 is a loopback address" in report.error
    assert internal.hits(METADATA_PATH) == [], "refused before any request reached it"
    assert articles(engine) == []
    (health,) = store.feed_health(engine)
    assert health.url == feed_server.url("/feed"), "the stored URL was not rewritten"
    assert health.last_status == "blocked" and health.consecutive_failures == 1


def test_a_name_that_resolves_to_loopback_is_caught_at_connect(engine, feed_server, internal):
    # No URL check could tell: "localhost" is a name; the address it resolves to is refused.
    target = internal.url(METADATA_PATH).replace("127.0.0.1", "localhost")
    feed_server.handler("/feed", redirect(target, 301))
    config = Config(feeds=[FeedConfig(name="evil", url=feed_server.url("/feed"))])
    (report,) = poll(engine, config).reports
    assert report.status == "blocked" and "refused to connect to localhost" in report.error
    assert internal.hits(METADATA_PATH) == [] and articles(engine) == []
    assert store.feed_health(engine)[0].url == feed_server.url("/feed")


def test_same_origin_redirects_and_the_configured_url_itself_may_be_local(feed_server):
    feed_server.feed("/new", BBC)
    feed_server.handler("/old", redirect("/new", 301))
    result = fetch_one(FeedSource(id=1, name="f", url=feed_server.url("/old")), LIMITS)
    assert isinstance(result, FetchedFeed) and result.moved_to == feed_server.url("/new")


def test_the_allow_list_lets_a_redirect_in_but_never_moves_the_feed_there(
    engine, feed_server, internal
):
    feed_server.handler("/feed", redirect(internal.url(METADATA_PATH), 301))
    config = Config(
        feeds=[FeedConfig(name="intranet", url=feed_server.url("/feed"))],
        fetch=FetchConfig(allow_private=["127.0.0.0/8"]),
    )
    (report,) = poll(engine, config).reports
    assert report.status == "ok" and len(internal.hits(METADATA_PATH)) == 1
    assert store.feed_health(engine)[0].url == feed_server.url("/feed")


def backfill_linking_to(engine, feed_server, href: str):
    """Backfill an archive whose only older document is at `href`."""
    feed_server.feed(
        "/history/feed.xml",
        b"<feed xmlns='http://www.w3.org/2005/Atom'><title>x</title>"
        b"<link rel='prev-archive' href='" + href.encode() + b"'/>"
        b"<entry><id>a</id><title>Today</title><updated>2026-02-12T10:00:00Z</updated></entry>"
        b"</feed>",
        content_type="application/atom+xml",
    )
    feed = FeedConfig(
        name="archive",
        url=feed_server.url("/history/feed.xml"),
        backfill=BackfillSourceConfig(kind="rfc5005"),
    )
    window = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    (report,) = backfill(engine, Config(feeds=[feed]), *window)
    return report


def test_a_backfill_link_may_not_lead_inside(engine, feed_server, internal):
    report = backfill_linking_to(engine, feed_server, internal.url(METADATA_PATH))
    assert report.documents == 1 and len(report.errors) == 1
    assert "blocked" in report.errors[0] and "loopback" in report.errors[0]
    assert internal.hits(METADATA_PATH) == [] and articles(engine) == ["Today"]


def test_a_web_archive_may_not_point_at_local_files(engine, feed_server, tmp_path):
    secret = tmp_path / "secret.xml"
    secret.write_bytes(CREDENTIALS)
    report = backfill_linking_to(engine, feed_server, secret.as_uri())
    assert "local file" in report.errors[0] and articles(engine) == ["Today"]


def test_nothing_is_stored_from_inside_even_as_a_second_feed(engine, feed_server, internal):
    # Two feeds: a configured intranet feed (allowed: the operator chose it) and a public one
    # redirecting to that same intranet origin (refused: separate connection pools).
    internal.feed("/intranet.xml", BBC)
    feed_server.handler("/feed", redirect(internal.url(METADATA_PATH)))
    config = Config(
        feeds=[
            FeedConfig(name="intranet", url=internal.url("/intranet.xml")),
            FeedConfig(name="public", url=feed_server.url("/feed")),
        ]
    )
    statuses = {r.feed_name: r.status for r in poll(engine, config).reports}
    assert statuses == {"intranet": "ok", "public": "blocked"}
    assert internal.hits(METADATA_PATH) == []
    with engine.connect() as connection:
        assert (
            connection.execute(
                select(func.count())
                .select_from(ArticleRow)
                .where(ArticleRow.title.like("%Access%"))
            ).scalar_one()
            == 0
        )
