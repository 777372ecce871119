"""The DAGs under a real Airflow scheduler (not dag.test()): scheduler, DAG processor and API
server as separate processes with LocalExecutor, their own SQLite metadata database and port.
Scheduled polls over HTTP on 127.0.0.1, the Asset-triggered alerts run, and the fake Slack."""

from __future__ import annotations

import json
import threading

from sqlalchemy import create_engine, select
from werkzeug import Request, Response

from pipeline.store.schema import ArticleRow
from tests.airflow_live import LiveAirflow
from tests.conftest import EXAMPLES
from tests.dags.conftest import newswatch_feeds

CONFIG = """
feeds:
  - {{name: World desk, url: '{world}', poll_interval: 10s}}
  - {{name: Markets, url: '{markets}', poll_interval: 10s}}
  - {{name: Broken, url: '{broken}', poll_interval: 10s}}
topics:
  - id: defence-secretary-meetings
    name: Defence secretary meetings
    query: '"defence secretary" AND (meet* OR met OR talks OR bilateral)'
    exclude: cricket
    slack: {{channel: "#defence-watch"}}
  - id: elections
    name: Elections
    query: election*
    threshold: 0.3
    slack: {{channel: "#elections"}}
slack: {{min_interval: 0}}
"""
EXTRA_ITEM = (
    b"<item><title>Harbour festival draws record crowds</title>"
    b"<link>https://news.example.org/local/harbour-festival</link>"
    b"<guid>harbour-festival-2026</guid>"
    b"<description>Boats, music and food stalls along the quay.</description></item>"
)
# The example feeds hold one match for each topic (checked with `newswatch run --dry-run`).
EXPECTED_POSTS = {"C0DEFENCE1": 1, "C0ELECTNS2": 1}


def titles(database: str) -> list[str]:
    engine = create_engine(database)
    with engine.connect() as connection:
        found = list(connection.execute(select(ArticleRow.title)).scalars())
    engine.dispose()
    return found


def test_scheduled_polls_and_asset_triggered_alerts_post_each_alert_once(
    tmp_path, feed_server, fake_slack
):
    world = {"body": (EXAMPLES / "feeds/world-defence.xml").read_bytes()}
    lock = threading.Lock()

    def world_desk(request: Request) -> Response:
        with lock:  # no validators: every poll reads the whole feed again
            return Response(world["body"], content_type="application/rss+xml")

    feed_server.handler("/world", world_desk)
    feed_server.feed(
        "/markets",
        (EXAMPLES / "feeds/business-regulation.atom").read_bytes(),
        content_type="application/atom+xml",
    )
    feed_server.handler("/broken", lambda request: Response("down", status=500))
    config = tmp_path / "newswatch.yaml"
    config.write_text(
        CONFIG.format(
            world=feed_server.url("/world"),
            markets=feed_server.url("/markets"),
            broken=feed_server.url("/broken"),
        )
    )
    database = f"sqlite:///{tmp_path / 'newswatch.db'}"
    slack = {"conn_type": "slack", "password": fake_slack.token}
    slack["extra"] = {"base_url": fake_slack.api_url}
    airflow = LiveAirflow(
        home=tmp_path / "airflow",
        metadata_url=f"sqlite:///{tmp_path / 'airflow' / 'airflow.db'}",
        env={
            "AIRFLOW_VAR_NEWSWATCH_CONFIG": str(config),
            "NEWSWATCH_DATABASE_URL": database,
            "AIRFLOW_CONN_SLACK_API_DEFAULT": json.dumps(slack),
            "NEWSWATCH_POLL_CRON": "* * * * *",
            "NEWSWATCH_TASK_RETRIES": "1",
            "NEWSWATCH_RETRY_DELAY": "5",
        },
    )
    with airflow:
        airflow.airflow("pools", "set", "newswatch_feeds", "4", "newswatch feed fetches")
        airflow.wait_for(
            lambda: airflow.dags_parsed("newswatch_poll", "newswatch_alerts"),
            180,
            "the DAG processor to parse the DAGs",
        )
        for dag_id in ("newswatch_poll", "newswatch_alerts"):  # DAGs start paused
            airflow.airflow("dags", "unpause", dag_id)

        poll = airflow.wait_for_run("newswatch_poll", 300, what="the first scheduled poll")
        assert (poll.state, poll.run_type) == ("success", "scheduled"), airflow.logs()
        assert airflow.task_states("newswatch_poll", poll.run_id) == {
            "plan_shards": ["success"],
            "poll_shard": ["success"],  # one host: one shard; Broken did not fail it
            "report": ["success"],
        }
        shard_log = airflow.task_log("newswatch_poll", poll.run_id, "poll_shard", map_index=0)
        assert "feed 'Broken': FAILED (http_5xx)" in shard_log
        assert "feed 'World desk': ok, 5 seen, 5 new" in shard_log

        alerts = airflow.wait_for_run(
            "newswatch_alerts", 240, what="the asset-triggered alerts run"
        )
        assert (alerts.state, alerts.run_type) == ("success", "asset_triggered"), airflow.logs()
        posted = {channel: len(fake_slack.posts_to(channel)) for channel in EXPECTED_POSTS}
        assert posted == EXPECTED_POSTS and len(fake_slack.posts) == 2

        # A second poll brings one more article, which matches no topic: the alerts run it
        # triggers must post nothing (in particular not the two alerts again).
        with lock:
            world["body"] = world["body"].replace(b"</channel>", EXTRA_ITEM + b"</channel>")
        airflow.wait_for(
            lambda: "Harbour festival draws record crowds" in titles(database),
            240,
            "a later scheduled poll to store the new article",
        )
        second = airflow.wait_for_run("newswatch_alerts", 240, after=1, what="a second alerts run")
        assert second.state == "success", airflow.logs()
        polls = airflow.runs("newswatch_poll")
        assert len(polls) >= 2 and all(run.run_type == "scheduled" for run in polls)
        assert len(fake_slack.posts) == 2

    health = newswatch_feeds(config, database)
    [broken] = [line for line in health.splitlines() if "Broken" in line]
    assert "http_5xx (500)" in broken
