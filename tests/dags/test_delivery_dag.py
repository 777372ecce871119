"""newswatch_delivery with dag.test(): a due hourly digest and the ops summary go out once,
through the library job, with the Slack credentials from the `slack_api_default` connection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline import store
from pipeline.config import load_config
from pipeline.poll import poll
from pipeline.score import score_with
from tests.dags.conftest import returned, states, use_fake_slack
from tests.test_alerts import DEFENCE_ITEM, ELECTION_ITEM, feed_file

CONFIG = """
feeds: [{name: Desk, url: feed.xml}]
slack: {min_interval: 0, ops_channel: "#news"}
topics:
  - id: defence
    name: Defence
    query: '"defence secretary" AND (meet* OR talks)'
    slack: {channel: "#defence-watch"}
    delivery: {mode: digest, every: 1h, at: ":00"}
  - {id: elections, name: Elections, query: election*, threshold: 0.3,
     slack: {channel: "#archived"}}
"""


def test_the_delivery_dag_sends_the_due_digest_and_the_ops_summary_once(
    dagbag, tmp_path, fake_slack, monkeypatch
):
    feed_file(tmp_path / "feed.xml", [DEFENCE_ITEM, ELECTION_ITEM])
    (tmp_path / "newswatch.yaml").write_text(CONFIG)
    database = f"sqlite:///{tmp_path / 'newswatch.db'}"
    monkeypatch.setenv("AIRFLOW_VAR_NEWSWATCH_CONFIG", str(tmp_path / "newswatch.yaml"))
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", database)
    use_fake_slack(monkeypatch, fake_slack)
    config = load_config(tmp_path / "newswatch.yaml").config
    engine = store.open_database(database)
    poll(engine, config, force=True)
    # Matched two hours ago: the hourly digest's slot has passed.
    score_with(engine, config, now=datetime.now(UTC) - timedelta(hours=2))
    engine.dispose()

    run = dagbag.get_dag("newswatch_delivery").test()
    assert str(run.state) == "success", states(run)
    [summary] = returned(run, "deliver")
    assert (summary["sent"], summary["digests"], summary["failed"]) == (1, 1, 1)
    assert summary["notices_sent"] == 1
    (digest,) = fake_slack.posts_to("C0DEFENCE1")
    assert digest.payload["blocks"][0]["text"]["text"].startswith("Defence: 1 story (hourly")
    (ops,) = fake_slack.posts_to("C0NEWSNEWS")
    assert "1 failed" in str(ops.payload["blocks"])

    again = dagbag.get_dag("newswatch_delivery").test()
    assert str(again.state) == "success"
    assert returned(again, "deliver")[0]["notices_sent"] == 0
    assert len(fake_slack.posts) == 2
