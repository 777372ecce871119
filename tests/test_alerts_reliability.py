"""The outbox under a flaky Slack (issue 9): each alert proven sent on its own, Retry-After held
per channel, the failure named for what it is, and the terminal never paced."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime, timedelta

from rich.console import Console
from sqlalchemy import create_engine, select

from alerts.destinations import alert_setup
from alerts.drain import DrainSettings
from pipeline.config import Config, FeedConfig
from pipeline.poll import poll
from pipeline.score import score_new_articles
from pipeline.store.schema import AlertRow
from tests.test_alerts import (
    DEFENCE_ITEM,
    DEFENCE_STORIES,
    ELECTION_ITEM,
    FAST,
    feed_file,
    run_drain,
    slack_setup,
    statuses,
    world,
)
from tests.test_alerts_cli import write_config
from tests.test_stories import COPIES, DEFENCE, feed

ELECTION_STORIES = [
    ELECTION_ITEM,
    ("Election commission sets polling date", "The election will be held in March."),
    ("Opposition wins regional election", "Turnout in the election was high."),
]


def sent_alerts(engine) -> dict[int, str]:
    """Alert id -> the Slack ts it is marked sent with."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(AlertRow.id, AlertRow.slack_ts).where(AlertRow.status == "sent")
        )
        return {row.id: row.slack_ts for row in rows}


def carried_by_posts(fake) -> Counter[int]:
    """How many posts on the fake Slack carry each alert id in their metadata."""
    return Counter(
        alert_id
        for post in fake.posts
        for alert_id in post.payload["metadata"]["event_payload"]["alert_ids"]
    )


def test_an_ambiguous_post_then_a_burst_posts_every_alert_not_proven_sent(
    engine, tmp_path, fake_slack
):
    # Issue 9, case 1: Slack accepts a post and the reply times out; then more than
    # digest_after new matches arrive for the topic. The next drain found the one id in the
    # channel's history and marked the whole digest group sent: 1 post for 7 alerts.
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    setup = slack_setup(fake_slack, topics)
    fake_slack.fail_next("chat.postMessage", "hang_after_post", value=4)  # client timeout: 2 s
    now = datetime.now(UTC)
    assert run_drain(engine, setup, now=now).retrying == 1
    assert len(fake_slack.posts) == 1, "Slack has the message; newswatch cannot know"

    world(engine, tmp_path, [DEFENCE_ITEM, *DEFENCE_STORIES[:6]])  # 6 > digest_after (5)
    report = run_drain(engine, setup, now=now + timedelta(hours=1))

    sent = sent_alerts(engine)
    assert len(sent) == 7 and {s for s, _, _ in statuses(engine).values()} == {"sent"}
    carried = carried_by_posts(fake_slack)
    assert set(carried) == set(sent), "every alert marked sent is in a post, and no other"
    assert set(carried.values()) == {1}, "and in exactly one post"
    posted_ts = {post.ts for post in fake_slack.posts}
    assert set(sent.values()) <= posted_ts
    assert report.reconciled == 1 and report.sent == 6 and report.digests == 1
    assert len(fake_slack.posts) == 2  # the first alert once, then one digest of the six new
    assert "Defence meetings: 6 new matches" in str(fake_slack.posts[1].payload["blocks"][0])


def test_a_digest_found_in_history_proves_only_the_alerts_it_names(engine, tmp_path, fake_slack):
    # A digest of six is posted and the reply lost; two more matches arrive (at most
    # digest_after with the six, so they would be singles on their own): the six are proven by
    # the digest, the two are posted one by one.
    topics = world(engine, tmp_path, DEFENCE_STORIES[:6])
    setup = slack_setup(fake_slack, topics)
    fake_slack.fail_next("chat.postMessage", "hang_after_post", value=4)
    now = datetime.now(UTC)
    assert run_drain(engine, setup, now=now).retrying == 6 and len(fake_slack.posts) == 1

    world(engine, tmp_path, DEFENCE_STORIES[:8])
    report = run_drain(engine, setup, now=now + timedelta(hours=1))
    assert report.reconciled == 6 and report.sent == 2 and report.digests == 0
    carried = carried_by_posts(fake_slack)
    assert set(carried) == set(sent_alerts(engine)) and len(carried) == 8
    assert set(carried.values()) == {1} and len(fake_slack.posts) == 3


def test_a_drain_killed_after_posting_then_a_burst_loses_nothing(
    tmp_path, fake_slack, database_url, cli
):
    # The same through the command, with a kill -9 between Slack's reply and the outbox update
    # (reported as 1 post for 9 alerts marked sent on SQLite).
    config = str(write_config(tmp_path, fake_slack, database_url))
    feed_file(tmp_path / "feed.xml", [DEFENCE_ITEM])
    assert cli("run", "-c", config, crash_at="alerts.outbox:mark_sent").returncode == 137
    assert len(fake_slack.posts) == 1

    feed_file(tmp_path / "feed.xml", [DEFENCE_ITEM, *DEFENCE_STORIES[:7]])
    assert cli("poll", "--all", "-c", config).returncode == 0
    result = cli("run", "-c", config)  # nothing due to poll: scores the new articles, drains
    assert result.returncode == 0, result.stderr
    assert "alerts: 7 sent (1 digest(s)), 1 found already posted" in result.stdout
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        sent = sent_alerts(engine)
    finally:
        engine.dispose()
    carried = carried_by_posts(fake_slack)
    assert len(sent) == 8 and set(carried) == set(sent) and set(carried.values()) == {1}
    assert len(fake_slack.posts) == 2


def test_retry_after_holds_that_channel_for_the_rest_of_the_drain(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [*DEFENCE_STORIES[:3], *ELECTION_STORIES])
    setup = slack_setup(fake_slack, topics)
    fake_slack.fail_next("chat.postMessage", "429", value=120, channel="#defence-watch")
    now = datetime.now(UTC)
    sleeps: list[float] = []
    report = run_drain(engine, setup, now=now, sleeps=sleeps)

    assert fake_slack.requests_to("chat.postMessage", "C0DEFENCE1") == 1, "nothing after the 429"
    assert fake_slack.posts_to("C0DEFENCE1") == []
    assert len(fake_slack.posts_to("C0ELECTNS2")) == 3, "the other channel went on"
    assert report.sent == 3 and report.retrying == 3 and all(s <= FAST.min_interval for s in sleeps)
    with engine.connect() as connection:
        held = connection.execute(
            select(AlertRow.next_attempt_at, AlertRow.last_error).where(
                AlertRow.topic_id == "defence"
            )
        ).all()
    assert len(held) == 3
    assert all(
        row.next_attempt_at.replace(tzinfo=UTC) >= now + timedelta(seconds=120) for row in held
    )
    assert all("rate limited" in row.last_error for row in held)

    assert run_drain(engine, setup, now=now + timedelta(seconds=60)).sent == 0, "still held"
    later = run_drain(engine, setup, now=now + timedelta(hours=1))
    assert later.sent == 3 and len(fake_slack.posts_to("C0DEFENCE1")) == 3


def test_a_short_retry_after_is_sat_out_while_other_channels_go_on(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [*DEFENCE_STORIES[:3], *ELECTION_STORIES[:2]])
    setup = slack_setup(fake_slack, topics)
    fake_slack.fail_next("chat.postMessage", "429", value=5, channel="#defence-watch")
    sleeps: list[float] = []
    report = run_drain(engine, setup, now=datetime.now(UTC), sleeps=sleeps)

    assert report.sent == 5 and report.retrying == 0
    channels = [
        fake_slack._resolve(body["channel"])
        for method, body, _ in fake_slack.requests
        if method == "chat.postMessage"
    ]
    # the 429, then the other channel, then the held channel once its wait was sat out
    assert channels == ["C0DEFENCE1", "C0ELECTNS2", "C0ELECTNS2", *["C0DEFENCE1"] * 3]
    assert sleeps.count(5.0) == 1 and all(s <= FAST.min_interval for s in sleeps if s != 5.0)


def test_a_refused_connection_is_reported_as_such(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    setup = slack_setup(fake_slack, topics)
    fake_slack.go_down()
    now = datetime.now(UTC)
    assert run_drain(engine, setup, now=now).retrying == 1
    ((status, _, error),) = statuses(engine).values()
    assert (status, error) == ("pending", "connection refused")

    # Tried before, so the next drain first reads the channel's history: still refused, and
    # said so (it used to blame a missing channels:history scope).
    assert run_drain(engine, setup, now=now + timedelta(hours=1)).retrying == 1
    ((status, _, error),) = statuses(engine).values()
    assert error == "could not check whether it was already posted: connection refused"
    assert "scope" not in error

    fake_slack.come_back()
    assert run_drain(engine, setup, now=now + timedelta(hours=3)).sent == 1
    assert len(fake_slack.posts) == 1


def test_the_terminal_is_not_paced(engine, tmp_path, monkeypatch):
    # Issue 12: with no Slack, pacing made a 1,000-topic run sleep 83 of its 89 seconds.
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    topics = world(engine, tmp_path, DEFENCE_STORIES[:4])
    printed = io.StringIO()
    setup = alert_setup(Config(), topics, console=Console(file=printed, width=200))
    sleeps: list[float] = []
    report = run_drain(engine, setup, DrainSettings(min_interval=1.0), sleeps=sleeps)
    assert report.sent == 4 and printed.getvalue().count("─" * 60) == 4
    assert sleeps == []


def test_a_thread_reply_refused_with_429_is_still_owed(engine, tmp_path, fake_slack):
    def outlet(name: str, copy: tuple[str, str]) -> None:
        path = feed(tmp_path / f"{name}.xml", [copy], f"{name.lower()}.example")
        poll(engine, Config(feeds=[FeedConfig(name=name, url=str(path))]))
        score_new_articles(engine, [DEFENCE])

    outlet("Devdiscourse", COPIES[0])
    setup = slack_setup(fake_slack, [DEFENCE])
    assert run_drain(engine, setup).sent == 1
    outlet("Reuters", COPIES[1])  # a copy: owed as a reply in the alert's thread
    fake_slack.fail_next("chat.postMessage", "429", value=120, channel="#defence-watch")
    assert run_drain(engine, setup).follow_ups == 0 and len(fake_slack.posts) == 1
    assert run_drain(engine, setup).follow_ups == 1
    assert fake_slack.posts[1].payload["thread_ts"] == fake_slack.posts[0].ts
