"""Stuck, failing and moved feeds, seen through real polls over HTTP on 127.0.0.1, each with
the moment its episode began; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select
from werkzeug import Response

from pipeline import store
from pipeline.config import FeedConfig
from pipeline.health import check_health
from pipeline.poll import poll
from pipeline.score import score_with
from pipeline.store.schema import FeedRow, FetchLogRow
from tests.health_feeds import HOUR, config_with, fetch_times, latest_publication, rss


def hourly_feed(feed_server, path: str = "/feed", *, etag: bool = True) -> tuple[bytes, object]:
    last = latest_publication()
    body = rss("wire", last, HOUR, 30, words="harbour strike")
    feed_server.feed(path, body, etag=etag)
    return body, last


def test_a_feed_answering_304_for_four_of_its_gaps_is_stuck_since_its_body_last_changed(
    engine, feed_server
):
    hourly_feed(feed_server)
    config = config_with([FeedConfig(name="wire", url=feed_server.url("/feed"))])
    poll(engine, config)
    assert poll(engine, config, force=True).count("not_modified") == 1
    (changed,) = fetch_times(engine, "wire", "ok")
    early = check_health(engine, config, now=changed + 3 * HOUR)
    assert [f.state for f in early.feeds] == ["ok"]
    report = check_health(engine, config, now=changed + 5 * HOUR)
    (stuck,) = report.problems  # stuck, and so not also called stale
    assert (stuck.kind, stuck.since) == ("stuck", changed)
    assert stuck.reason == "answers 304 Not Modified: unchanged for 5h (new items usually every 1h)"
    assert report.feeds[0].body_changed_at == changed


def test_a_feed_serving_the_same_body_without_validators_is_stuck_too(engine, feed_server):
    body, _ = hourly_feed(feed_server, etag=False)
    feed_server.server.clear()
    feed_server.handler("/feed", lambda request: Response(body, 200, {"Content-Type": "text/xml"}))
    config = config_with([FeedConfig(name="wire", url=feed_server.url("/feed"))])
    poll(engine, config)
    poll(engine, config, force=True)
    first, _ = fetch_times(engine, "wire", "ok")
    (stuck,) = check_health(engine, config, now=first + 5 * HOUR).problems
    assert (stuck.kind, stuck.since) == ("stuck", first)
    assert stuck.reason.startswith("serves the same document: unchanged for 5h")


def test_a_local_feed_file_that_stops_changing_is_stuck(engine, tmp_path):
    path = tmp_path / "wire.xml"
    path.write_bytes(rss("wire", latest_publication(), HOUR, 30))
    config = config_with([FeedConfig(name="wire", url=str(path))])
    poll(engine, config)
    assert poll(engine, config, force=True).count("not_modified") == 1
    (changed,) = fetch_times(engine, "wire", "ok")
    (stuck,) = check_health(engine, config, now=changed + 5 * HOUR).problems
    assert stuck.reason.startswith("its file has not changed: unchanged for 5h")


def test_a_feed_whose_body_changes_without_new_items_is_stale_not_stuck(engine, feed_server):
    last = latest_publication()
    bodies = iter([rss("wire", last, HOUR, 30), rss("wire", last, HOUR, 30, words="council")])
    documents = {"body": next(bodies)}

    def answer(request):
        return Response(documents["body"], 200, {"Content-Type": "text/xml"})

    feed_server.handler("/feed", answer)
    config = config_with([FeedConfig(name="wire", url=feed_server.url("/feed"))])
    poll(engine, config)
    documents["body"] = next(bodies)  # same items (same GUIDs), edited text
    poll(engine, config, force=True)
    (stale,) = check_health(engine, config, now=last + 5 * HOUR).problems
    assert (stale.kind, stale.since) == ("stale", last)


def test_failing_after_three_failures_in_a_row_since_the_first(engine, feed_server):
    body, _ = hourly_feed(feed_server, etag=False)
    outage = {"on": False}

    def answer(request):
        if outage["on"]:
            return Response("down", 500)
        return Response(body, 200, {"Content-Type": "text/xml"})

    feed_server.server.clear()
    feed_server.handler("/feed", answer)
    topic = {"id": "harbour", "name": "Harbour", "query": "harbour", "threshold": 0.1}
    config = config_with([FeedConfig(name="wire", url=feed_server.url("/feed"))], [topic])
    poll(engine, config)
    score_with(engine, config)
    outage["on"] = True
    for _ in range(2):
        poll(engine, config, force=True)
    first_failure = fetch_times(engine, "wire", "http_5xx")[0]
    assert check_health(engine, config, now=first_failure + HOUR).problems == ()
    poll(engine, config, force=True)
    report = check_health(engine, config, now=first_failure + HOUR)
    (failing,) = report.problems
    assert (failing.kind, failing.since) == ("failing", first_failure)
    assert failing.reason == "failed 3 times in a row (last: HTTP 500 INTERNAL SERVER ERROR)"
    assert failing.topic_ids == ("harbour",)
    assert report.feeds[0].state == "failing" and report.feeds[0].consecutive_failures == 3

    outage["on"] = False
    poll(engine, config, force=True)
    assert check_health(engine, config, now=first_failure + HOUR).problems == ()
    outage["on"] = True
    for _ in range(3):
        poll(engine, config, force=True)
    (again,) = check_health(engine, config, now=first_failure + 2 * HOUR).problems
    assert again.since == fetch_times(engine, "wire", "http_5xx")[3], "a new episode"


def test_a_permanent_redirect_is_recorded_and_reported_until_the_config_follows(
    engine, feed_server
):
    hourly_feed(feed_server, "/new")
    feed_server.handler("/old", lambda request: Response(status=301, headers={"Location": "/new"}))
    config = config_with([FeedConfig(name="wire", url=feed_server.url("/old"))])
    poll(engine, config)
    (moved_at,) = fetch_times(engine, "wire")
    now = moved_at + timedelta(minutes=5)
    (moved,) = check_health(engine, config, now=now).problems
    assert (moved.kind, moved.since) == ("moved", moved_at)
    assert moved.reason == (
        f"moved permanently from {feed_server.url('/old')} to {feed_server.url('/new')}; "
        "set its url to the new one in the config"
    )
    poll(engine, config, force=True)  # now fetched from /new directly: still moved, same episode
    assert check_health(engine, config, now=now).problems[0].key == moved.key
    assert len(feed_server.hits("/old")) == 1

    followed = config_with([FeedConfig(name="wire", url=feed_server.url("/new"))])
    poll(engine, followed, force=True)
    assert check_health(engine, followed, now=now).problems == ()


def test_a_temporary_redirect_is_not_a_move(engine, feed_server):
    hourly_feed(feed_server, "/new")
    feed_server.handler("/old", lambda request: Response(status=302, headers={"Location": "/new"}))
    config = config_with([FeedConfig(name="wire", url=feed_server.url("/old"))])
    poll(engine, config)
    report = check_health(engine, config, now=latest_publication() + HOUR)
    assert report.problems == () and report.feeds[0].state == "ok"


def test_the_migration_estimates_health_from_what_is_already_stored(database_url):
    engine = store.connect(database_url)
    store.upgrade(engine, "0007")
    t0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(FeedRow.__table__).values(
                id=1,
                name="wire",
                config_url="u",
                url="u",
                created_at=t0,
                last_fetch_at=t0 + 3 * HOUR,
                last_success_at=t0,
                consecutive_failures=2,
                last_status="http_5xx",
            )
        )
        connection.execute(
            insert(FetchLogRow.__table__),
            [
                {"feed_id": 1, "started_at": t0 + n * HOUR, "url": "u", "status": status}
                for n, status in enumerate(["ok", "not_modified", "http_5xx", "http_5xx"])
            ],
        )
    store.upgrade(engine)
    with engine.connect() as connection:
        row = connection.execute(select(FeedRow)).one()
    engine.dispose()
    assert (row.body_changed_at, row.failing_since) == (t0, t0 + 2 * HOUR)
