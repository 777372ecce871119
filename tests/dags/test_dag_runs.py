"""The DAGs end to end with dag.test(): a feed server and a fake Slack on 127.0.0.1, the Slack
credentials in the `slack_api_default` connection, the config path in an Airflow Variable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from werkzeug import Response

from tests import archive
from tests.conftest import EXAMPLES
from tests.dags.conftest import articles, asset_events, returned, states, use_fake_slack

TOPICS = """
topics:
  - id: defence-secretary-meetings
    name: Defence secretary meetings
    query: '"defence secretary" AND (meet* OR met OR talks OR bilateral)'
    exclude: cricket
    slack: {channel: "#defence-watch"}
  - id: elections
    name: Elections
    query: election*
    threshold: 0.3
    slack: {channel: "#elections"}
slack: {min_interval: 0}
"""


@pytest.fixture(params=["live"])
def world(request, tmp_path, feed_server, fake_slack, monkeypatch):
    """Feeds, config, database and Slack wired as a deployment would wire them: the live feeds,
    or (param "history") one feed with an RFC 5005 archive."""
    feed_server.feed("/world", (EXAMPLES / "feeds/world-defence.xml").read_bytes())
    feed_server.feed(
        "/markets",
        (EXAMPLES / "feeds/business-regulation.atom").read_bytes(),
        content_type="application/atom+xml",
    )
    feed_server.handler("/broken", lambda request: Response("down", status=500))
    archive.rfc5005(tmp_path / "archive")
    for name in ("feed.xml", "archive-2.xml", "archive-1.xml"):
        feed_server.feed(
            f"/history/{name}",
            (tmp_path / "archive" / name).read_bytes(),
            content_type="application/atom+xml",
        )
    config = tmp_path / "newswatch.yaml"
    if request.param == "history":
        feeds = (
            f"  - {{name: Archive desk, url: '{feed_server.url('/history/feed.xml')}',"
            " backfill: {kind: rfc5005}}\n"
        )
    else:
        feeds = (
            f"  - {{name: World desk, url: '{feed_server.url('/world')}'}}\n"
            f"  - {{name: Markets, url: '{feed_server.url('/markets')}'}}\n"
            f"  - {{name: Broken, url: '{feed_server.url('/broken')}'}}\n"
        )
    config.write_text("feeds:\n" + feeds + TOPICS)
    database = f"sqlite:///{tmp_path / 'newswatch.db'}"
    monkeypatch.setenv("AIRFLOW_VAR_NEWSWATCH_CONFIG", str(config))
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", database)
    use_fake_slack(monkeypatch, fake_slack)
    return database


def test_poll_then_alerts_posts_the_defence_alert_once(dagbag, world, fake_slack):
    events_before = len(asset_events())
    poll = dagbag.get_dag("newswatch_poll").test()
    assert str(poll.state) == "success", states(poll)
    # One host (127.0.0.1), so one shard; the broken feed is reported, it does not fail it.
    assert states(poll)["poll_shard"] == ["success"]
    assert articles(world) == 5 + 3  # world desk and markets
    [shard] = returned(poll, "poll_shard")
    outcomes = {o["feed"]: (o["status"], o["new"]) for o in shard["outcomes"]}
    assert outcomes == {"World desk": ("ok", 5), "Markets": ("ok", 3), "Broken": ("http_5xx", 0)}
    [report] = returned(poll, "report")
    assert [f["feed"] for f in report["failing_feeds"]] == ["Broken"]
    assert "500" in report["failing_feeds"][0]["error"]
    events = asset_events()[events_before:]
    assert len(events) == 1 and events[0]["new_articles"] == 8 and events[0]["origin"] == "live"
    assert events[0]["run_id"] == poll.run_id

    alerts = dagbag.get_dag("newswatch_alerts").test()
    assert str(alerts.state) == "success", states(alerts)
    defence = fake_slack.posts_to("C0DEFENCE1")
    assert len(defence) == 1
    assert "India-Israel Defence Talks" in str(defence[0].payload["blocks"])

    again = dagbag.get_dag("newswatch_poll").test()
    assert str(again.state) == "success"
    assert len(asset_events()) == events_before + 1, "nothing new, no event"
    dagbag.get_dag("newswatch_alerts").test()
    assert len(fake_slack.posts_to("C0DEFENCE1")) == 1


@pytest.mark.parametrize("world", ["history"], indirect=True)
def test_backfill_three_days_then_alerts_one_digest_per_topic(dagbag, world, fake_slack):
    from airflow.sdk import timezone

    backfill = dagbag.get_dag("newswatch_backfill")
    days = [archive.DAY0 + timedelta(days=d) for d in (1, 2, 3)]
    runs = [backfill.test(logical_date=timezone.coerce_datetime(day)) for day in days]
    assert all(str(run.state) == "success" for run in runs), [states(r) for r in runs]
    assert articles(world) == archive.IN_WINDOW
    assert [e["origin"] for e in asset_events()[-3:]] == ["backfill"] * 3

    dagbag.get_dag("newswatch_alerts").test()
    headers = sorted(p.payload["blocks"][0]["text"]["text"] for p in fake_slack.posts)
    assert headers == [
        "Defence secretary meetings: 3 matches in backfilled history",
        "Elections: 3 matches in backfilled history",
    ]

    rerun = [backfill.test(logical_date=timezone.coerce_datetime(day)) for day in days]
    assert all(states(r)["backfill_window"] == ["skipped"] for r in rerun)
    assert articles(world) == archive.IN_WINDOW
    dagbag.get_dag("newswatch_alerts").test()
    assert len(fake_slack.posts) == 2


@pytest.mark.parametrize("world", ["history"], indirect=True)
def test_a_manual_backfill_without_a_logical_date_uses_run_after(dagbag, world):
    run = dagbag.get_dag("newswatch_backfill").test(logical_date=None)
    assert str(run.state) == "success", states(run)
    assert states(run)["backfill_window"] == ["skipped"]  # the day before now: nothing archived
