"""The watch on the watcher end to end: a feed publishing hourly stops; the health check flags it
stale with the topic whose last matches it carried; `pipeline.jobs.deliver` (what `newswatch run`
and the newswatch_delivery DAG call) tells the ops channel once: the note, and the day's summary."""

from __future__ import annotations

from datetime import timedelta

from pipeline import jobs, store
from pipeline.poll import poll
from pipeline.score import score_with
from tests.health_feeds import HOUR, latest_publication, rss

OPS = "C0NEWSNEWS"


def test_a_stale_feed_reaches_the_ops_channel_once(
    tmp_path, feed_server, fake_slack, database_url, monkeypatch
):
    last = latest_publication()
    feed_server.feed("/hourly", rss("hourly", last, HOUR, 40))
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.token)
    config = tmp_path / "newswatch.yaml"
    config.write_text(
        f"database: {{url: '{database_url}'}}\n"
        f"feeds: [{{name: Council desk, url: '{feed_server.url('/hourly')}'}}]\n"
        f"slack: {{api_url: '{fake_slack.api_url}', timeout: 2, min_interval: 0,"
        " ops_channel: '#news'}\n"
        "topics: [{id: council, name: Council, query: council, slack: {channel: '#elections'}}]\n"
    )
    engine = store.connect(database_url)
    store.upgrade(engine)
    engine.dispose()
    with jobs.opened(str(config), None) as (settings, engine):
        assert poll(engine, settings).failed == 0
        score_with(engine, settings)

    quiet = last + 3 * HOUR
    assert jobs.deliver(str(config), None, now=quiet)["notices_sent"] == 0
    assert fake_slack.posts_to(OPS) == []

    stale = last + 5 * HOUR
    summary = jobs.deliver(str(config), None, now=stale)
    assert summary["notices_sent"] == 2
    note, report = fake_slack.posts_to(OPS)
    assert (
        "Council desk* has gone stale" in note.payload["text"]
        and "`council`" in note.payload["text"]
    )
    assert "Stale feeds" in str(report.payload["blocks"])

    for later in (stale + timedelta(minutes=15), stale + timedelta(hours=1)):
        assert jobs.deliver(str(config), None, now=later)["notices_sent"] == 0
    assert len(fake_slack.posts_to(OPS)) == 2
