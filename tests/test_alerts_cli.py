"""The alert path as users run it: the `newswatch` command in a subprocess, a fake Slack, and
a process killed at the worst moment."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import create_engine, select

from pipeline import store
from pipeline.store.schema import AlertRow
from tests.conftest import EXAMPLES

HOSTILE = "&lt;!channel&gt; &lt;https://evil.example|bank&gt; Defence Secretary meets counterpart"


def write_config(tmp_path: Path, fake, database_url: str, *, webhook: bool = False) -> Path:
    """A config with a feed, two topics and the fake Slack; the database upgraded, as the README
    says to do before the first run on PostgreSQL."""
    engine = store.connect(database_url)
    store.upgrade(engine)
    engine.dispose()
    feed = tmp_path / "feed.xml"
    feed.write_text(
        textwrap.dedent(f"""\
        <rss version="2.0"><channel><title>Wire</title>
        <item><title>{HOSTILE}</title><link>https://wire.example/1</link><guid>1</guid>
          <description>The defence secretary held talks.</description></item>
        <item><title>Snap election called</title><link>https://wire.example/2</link><guid>2</guid>
          <description>Voters go to the polls.</description></item>
        </channel></rss>""")
    )
    slack = (
        "  webhook_url: ${TEST_WEBHOOK_URL}\n" if webhook else "  token: ${TEST_SLACK_TOKEN}\n"
    ) + f"  api_url: {fake.api_url}\n"  # the fake's host, where a webhook may then point
    config = tmp_path / "newswatch.yaml"
    config.write_text(
        "feeds:\n  - {name: Wire, url: feed.xml}\n"
        "slack:\n" + slack + "  timeout: 3s\n  min_interval: 0\n"
        "topics:\n"
        "  - {id: defence, name: Defence, query: '\"defence secretary\" AND (meet* OR talks)',"
        " slack: {channel: '#defence-watch'}}\n"
        "  - {id: elections, name: Elections, query: 'election*', threshold: 0.3,"
        " slack: {channel: '#elections'}}\n"
    )
    return config


def newswatch(
    *args: str,
    cwd: Path,
    fake,
    database_url: str,
    crash_at: str | None = None,
    env: dict[str, str] | None = None,
):
    env = {
        **os.environ,
        "COLUMNS": "200",
        "TEST_SLACK_TOKEN": fake.token,
        "TEST_WEBHOOK_URL": fake.webhook_url,
        "NEWSWATCH_DATABASE_URL": database_url,
        **(env or {}),
    }
    code = "from pipeline.cli import app; app()"
    if crash_at:  # die like kill -9 at that point: no cleanup, no rollback of committed work
        module, _, path = crash_at.partition(":")  # "package.module:Class.method"
        owner, _, name = path.rpartition(".")
        code = (
            f"import os, importlib; m = importlib.import_module('{module}'); "
            f"o = eval('m.{owner}') if '{owner}' else m; "
            f"setattr(o, '{name}', lambda *a, **k: os._exit(137)); " + code
        )
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def alert_rows(database_url: str):
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        rows = connection.execute(
            select(AlertRow.topic_id, AlertRow.status, AlertRow.slack_ts).order_by(AlertRow.id)
        ).all()
    engine.dispose()
    return rows


def test_run_twice_posts_each_alert_once_and_escapes_the_hostile_title(
    tmp_path, fake_slack, database_url, cli
):
    config = write_config(tmp_path, fake_slack, database_url)
    first = cli("run", "-c", str(config))
    assert first.returncode == 0, first.stderr
    assert "alerts: 2 sent" in first.stdout
    second = cli("run", "-c", str(config))
    assert second.returncode == 0 and "alerts: 0 sent" in second.stdout
    assert len(fake_slack.posts) == 2
    defence = fake_slack.posts_to("C0DEFENCE1")[0].payload
    everything = str(defence["blocks"]) + defence["text"]
    assert "<!channel>" not in everything and "<https://evil.example" not in everything
    assert "&lt;!channel&gt; &lt;https://evil.example|bank&gt;" in everything
    assert fake_slack.token not in first.stdout + first.stderr


def test_a_drain_killed_after_slack_replied_does_not_post_again(
    tmp_path, fake_slack, database_url, cli
):
    config = write_config(tmp_path, fake_slack, database_url)
    crashed = cli(
        "run",
        "-c",
        str(config),
        crash_at="alerts.outbox:mark_sent",
    )
    assert crashed.returncode == 137
    assert len(fake_slack.posts) == 1, "Slack accepted the first message, then the process died"
    assert [row.status for row in alert_rows(database_url)] == ["sending", "pending"]

    again = cli(
        "alerts",
        "send",
        "-c",
        str(config),
    )
    assert again.returncode == 0, again.stderr
    assert "1 found already posted" in again.stdout and "alerts: 1 sent" in again.stdout
    assert len(fake_slack.posts) == 2, "the first message was not posted a second time"
    rows = alert_rows(database_url)
    assert [row.status for row in rows] == ["sent", "sent"]
    assert rows[0].slack_ts == fake_slack.posts[0].ts


def test_webhook_crash_before_the_send_loses_nothing(tmp_path, fake_slack, database_url, cli):
    config = write_config(tmp_path, fake_slack, database_url, webhook=True)
    crashed = cli(
        "run",
        "-c",
        str(config),
        crash_at="alerts.slack:WebhookSink.send",
    )
    assert crashed.returncode == 137 and fake_slack.posts == []
    again = cli(
        "alerts",
        "send",
        "-c",
        str(config),
    )
    assert "alerts: 2 sent" in again.stdout and len(fake_slack.posts) == 2


def test_webhook_crash_after_slack_replied_repeats_that_one_message(
    tmp_path, fake_slack, database_url, cli
):
    # The documented window: a webhook cannot be asked what it received, so a process killed in
    # the moment between Slack's reply and the outbox update posts that message once more.
    config = write_config(tmp_path, fake_slack, database_url, webhook=True)
    cli(
        "run",
        "-c",
        str(config),
        crash_at="alerts.outbox:mark_sent",
    )
    assert len(fake_slack.posts) == 1
    cli(
        "alerts",
        "send",
        "-c",
        str(config),
    )
    assert len(fake_slack.posts) == 3  # the first message twice, the second once
    assert fake_slack.posts[0].payload["text"] == fake_slack.posts[1].payload["text"]
    assert [row.status for row in alert_rows(database_url)] == ["sent", "sent"]


def test_alerts_list_retry_and_dry_run(tmp_path, fake_slack, database_url, cli):
    config = write_config(tmp_path, fake_slack, database_url)
    dry = cli(
        "run",
        "--dry-run",
        "-c",
        str(config),
    )
    assert "dry run: 2 message(s) would be sent; no alert was queued or sent" in dry.stdout
    assert "would send to slack:#defence-watch" in dry.stdout and fake_slack.posts == []

    fake_slack.fail_next("chat.postMessage", "not_in_channel", count=2)
    cli(
        "alerts",
        "send",
        "-c",
        str(config),
    )
    listing = cli("alerts", "-c", str(config))
    assert "0 pending, 0 sending, 2 failed, 0 sent" in listing.stdout
    assert "invite it" in listing.stdout
    retried = cli(
        "alerts",
        "retry",
        "-c",
        str(config),
    )
    assert "2 failed alert(s) back to pending" in retried.stdout
    again = cli("alerts", "retry", "1", "999", "-c", str(config))  # pending now, and no such id
    assert "0 failed alert(s) back to pending" in again.stdout and again.returncode == 0
    assert "note: 2 of the ids given are not failed alerts" in again.stderr
    sent = cli(
        "alerts",
        "send",
        "-c",
        str(config),
    )
    assert "alerts: 2 sent" in sent.stdout and len(fake_slack.posts) == 2


def test_the_example_prints_the_defence_alert_with_its_why(tmp_path):
    import shutil

    shutil.copytree(EXAMPLES, tmp_path / "example", ignore=shutil.ignore_patterns("*.db*"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline.cli",
            "run",
            "-c",
            str(tmp_path / "example/newswatch.yaml"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    block = result.stdout.split(
        "India-Israel Defence Talks Highlight R&D, Counterterror Collaboration (https"
    )[1]
    why = block.split("────")[0]
    assert "Why:" in why and '`"defence secretary"`' in why and "`bilateral`" in why
    assert "alerts: 3 sent" in result.stdout
