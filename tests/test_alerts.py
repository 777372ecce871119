"""Alert delivery through the real slack_sdk client against a fake Slack on 127.0.0.1."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import pytest
from sqlalchemy import select

from alerts import outbox
from alerts.destinations import alert_setup
from alerts.drain import DrainSettings
from alerts.slack import WebApiSink, WebhookSink
from pipeline.config import Config, FeedConfig, SlackConfig
from pipeline.poll import poll
from pipeline.score import score_new_articles
from pipeline.store.schema import AlertRow
from pipeline.topics import compile_topic

DEFENCE = compile_topic(
    "defence",
    "Defence meetings",
    '"defence secretary" AND (meet* OR talks)',
    channel="#defence-watch",
)
ELECTIONS = compile_topic(
    "elections", "Elections", "election*", channel="#elections", threshold=0.3
)
FAST = DrainSettings(digest_after=5, min_interval=0.5, max_attempts=4)


def feed_file(path: Path, items: list[tuple[str, str]]) -> Path:
    entries = "".join(
        f"<item><title>{xml_escape(title)}</title><link>https://news.example.org/{i}</link>"
        f"<guid>item-{i}</guid><pubDate>Wed, 23 Jul 2025 1{i % 10}:00:00 GMT</pubDate>"
        f"<description>{xml_escape(summary)}</description></item>"
        for i, (title, summary) in enumerate(items)
    )
    path.write_text(f"<rss version='2.0'><channel><title>Desk</title>{entries}</channel></rss>")
    return path


def world(engine, tmp_path, items, topics=(DEFENCE, ELECTIONS)):
    """Store the items as articles of one feed and score them against the topics."""
    feed = feed_file(tmp_path / f"feed{len(items)}.xml", items)
    poll(engine, Config(feeds=[FeedConfig(name="Desk", url=str(feed))]), force=True)
    score_new_articles(engine, list(topics))
    return list(topics)


DEFENCE_ITEM = (
    "Defence Secretary meets Israeli counterpart",
    "The defence secretary met for talks.",
)
ELECTION_ITEM = ("Japan's snap election: what to know", "The election is on Sunday.")
# Different events (different stories), each matching the defence topic.
DEFENCE_STORIES = [
    (
        "Defence secretary meets Japanese minister on submarine deal",
        "Talks in Tokyo covered the submarine programme and its funding.",
    ),
    (
        "Kenya and UK defence secretary hold talks on counter-piracy patrols",
        "The defence secretary met naval chiefs in Mombasa about shipping lanes.",
    ),
    (
        "Defence secretary talks drone exports with Turkish officials",
        "Ankara hosted a meeting over unmanned aircraft licences.",
    ),
    (
        "Brazil's defence secretary meets Argentine counterpart over border radar",
        "A joint radar network along the river frontier was discussed at the talks.",
    ),
    (
        "Defence secretary in Canberra for talks on Pacific bases",
        "Officials met to review port access agreements and rotation schedules.",
    ),
    (
        "Polish defence secretary meets Baltic ministers about air policing",
        "Fighter rotations and fuel stocks dominated the Vilnius talks.",
    ),
    (
        "Defence secretary holds talks with Indian navy on carrier maintenance",
        "Dry dock capacity in Kochi was the main subject of the meeting.",
    ),
    (
        "Defence secretary meets Ghana officials about peacekeeping training",
        "The talks in Accra set out courses for staff officers next year.",
    ),
]


def slack_setup(fake, topics, **slack):
    config = Config(slack=SlackConfig(api_url=fake.api_url, timeout=2, **slack))
    return alert_setup(config, topics, token=fake.token)


def run_drain(engine, setup, settings=FAST, *, now=None, sleeps=None):
    return setup.drain(
        engine,
        settings=settings,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
        now=(lambda: now) if now else (lambda: datetime.now(UTC)),
    )


def statuses(engine) -> dict[int, tuple[str, int, str | None]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(AlertRow.id, AlertRow.status, AlertRow.attempts, AlertRow.last_error)
        )
        return {r.id: (r.status, r.attempts, r.last_error) for r in rows}


def test_each_alert_goes_to_its_topics_channel_once_with_its_id_as_metadata(
    engine, tmp_path, fake_slack
):
    topics = world(engine, tmp_path, [DEFENCE_ITEM, ELECTION_ITEM])
    setup = slack_setup(fake_slack, topics)
    report = run_drain(engine, setup)
    assert report.sent == 2 and report.failed == 0
    (defence,) = fake_slack.posts_to("C0DEFENCE1")
    (election,) = fake_slack.posts_to("C0ELECTNS2")
    assert "Defence Secretary meets Israeli counterpart" in str(defence.payload["blocks"])
    assert defence.payload["metadata"]["event_type"] == "newswatch_alert"
    ids = {
        defence.payload["metadata"]["event_payload"]["alert_ids"][0],
        election.payload["metadata"]["event_payload"]["alert_ids"][0],
    }
    assert {v[0] for v in statuses(engine).values()} == {"sent"} and len(ids) == 2
    with engine.connect() as connection:
        ts = connection.execute(
            select(AlertRow.slack_ts).where(AlertRow.topic_id == "defence")
        ).scalar()
    assert ts == defence.ts
    assert run_drain(engine, setup).sent == 0 and len(fake_slack.posts) == 2


def test_the_message_says_why(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    run_drain(engine, slack_setup(fake_slack, topics))
    blocks = fake_slack.posts[0].payload["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Defence meetings", "emoji": False},
    }
    text = str(blocks)
    assert "<https://news.example.org/0|Defence Secretary meets Israeli counterpart>" in text
    assert "Desk (news.example.org)" in text and "score " in text
    assert "<!date^" in text and "|2025-07-23 10:00 UTC>" in text
    assert '*Why:* `"defence secretary"`' in text and "*defence secretary*" in text.lower()
    assert fake_slack.posts[0].payload["text"].startswith("[Defence meetings] Defence Secretary")


def test_a_hostile_title_arrives_escaped(engine, tmp_path, fake_slack):
    hostile = "<!channel> <https://evil.example|bank> & <@U123> defence secretary talks"
    topics = world(engine, tmp_path, [(hostile, "defence secretary meets")])
    run_drain(engine, slack_setup(fake_slack, topics))
    payload = fake_slack.posts[0].payload
    everything = str(payload["blocks"]) + payload["text"]
    assert "<!channel>" not in everything and "<https://evil.example" not in everything
    assert "<@U123>" not in everything
    assert "&lt;!channel&gt; &lt;https://evil.example|bank&gt; &amp; &lt;@U123&gt;" in everything


def test_messages_to_one_channel_are_paced(engine, tmp_path, fake_slack):
    items = DEFENCE_STORIES[:3]
    topics = world(engine, tmp_path, items)
    sleeps: list[float] = []
    run_drain(engine, slack_setup(fake_slack, topics), sleeps=sleeps)
    assert len(fake_slack.posts) == 3
    assert len(sleeps) == 2 and all(0 < s <= FAST.min_interval for s in sleeps)


def test_more_than_digest_after_alerts_for_a_topic_become_one_digest(engine, tmp_path, fake_slack):
    items = DEFENCE_STORIES[:7]
    topics = world(engine, tmp_path, [*items, ELECTION_ITEM])
    report = run_drain(engine, slack_setup(fake_slack, topics))
    assert report.sent == 8 and report.digests == 1
    (digest,) = fake_slack.posts_to("C0DEFENCE1")
    assert "Defence meetings: 7 new matches" in str(digest.payload["blocks"][0])
    digest_ids = digest.payload["metadata"]["event_payload"]["alert_ids"]
    with engine.connect() as connection:
        defence_rows = connection.execute(
            select(AlertRow.id, AlertRow.slack_ts).where(AlertRow.topic_id == "defence")
        ).all()
    assert sorted(digest_ids) == sorted(row.id for row in defence_rows) and len(digest_ids) == 7
    assert {row.slack_ts for row in defence_rows} == {digest.ts}
    assert len(fake_slack.posts_to("C0ELECTNS2")) == 1  # the other topic's single alert


def test_a_short_429_is_waited_out_and_the_message_sent(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    fake_slack.fail_next("chat.postMessage", "429", value=2)
    sleeps: list[float] = []
    now = datetime.now(UTC)  # a fixed clock, so the wait asked for is exactly the Retry-After
    report = run_drain(engine, slack_setup(fake_slack, topics), sleeps=sleeps, now=now)
    assert report.sent == 1 and 2.0 in sleeps and len(fake_slack.posts) == 1


def test_a_long_429_reschedules_after_retry_after(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    fake_slack.fail_next("chat.postMessage", "429", value=600)
    now = datetime.now(UTC)
    report = run_drain(engine, slack_setup(fake_slack, topics), now=now)
    assert report.retrying == 1 and fake_slack.posts == []
    with engine.connect() as connection:
        next_at = connection.execute(select(AlertRow.next_attempt_at)).scalar_one()
    assert next_at >= now + timedelta(seconds=600)


def test_a_5xx_is_retried_on_a_later_drain_with_backoff(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    setup = slack_setup(fake_slack, topics)
    fake_slack.fail_next("chat.postMessage", "500")
    now = datetime.now(UTC)
    assert run_drain(engine, setup, now=now).retrying == 1
    ((status, attempts, error),) = statuses(engine).values()
    assert (status, attempts) == ("pending", 1) and "HTTP 500" in error
    assert run_drain(engine, setup, now=now).sent == 0, "not due yet"
    later = run_drain(engine, setup, now=now + timedelta(minutes=5))
    assert later.sent == 1 and len(fake_slack.posts) == 1


def test_repeated_transient_failures_give_up_with_the_reason(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    setup = slack_setup(fake_slack, topics)
    fake_slack.fail_next("chat.postMessage", "500", count=10)
    moment = datetime.now(UTC)
    for hour in range(FAST.max_attempts):
        run_drain(engine, setup, now=moment + timedelta(hours=hour * 2))
    ((status, attempts, error),) = statuses(engine).values()
    assert status == "failed" and attempts == FAST.max_attempts
    assert error.startswith(f"gave up after {FAST.max_attempts} attempts")


@pytest.mark.parametrize(
    ("failure", "fix"),
    [
        ("channel_not_found", "check the topic's slack.channel"),
        ("not_in_channel", "/invite"),
        ("is_archived", "archived"),
    ],
)
def test_a_channel_error_fails_that_alert_with_what_to_fix_and_other_channels_go_on(
    engine, tmp_path, fake_slack, failure, fix
):
    topics = world(engine, tmp_path, [DEFENCE_ITEM, ELECTION_ITEM])  # two topics, two channels
    fake_slack.fail_next("chat.postMessage", failure)  # the first message: defence's
    report = run_drain(engine, slack_setup(fake_slack, topics))
    assert report.failed == 1 and report.sent == 1
    by_topic = {row[0]: row for row in statuses(engine).values()}
    failed = next(row for row in statuses(engine).values() if row[0] == "failed")
    assert fix in failed[2] and "sent" in by_topic
    assert fake_slack.token not in failed[2]


def test_a_channel_the_bot_is_not_in_is_not_tried_again_in_that_drain(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM, DEFENCE_STORIES[0], ELECTION_ITEM])
    fake_slack.fail_next("chat.postMessage", "not_in_channel")  # defence's first message
    report = run_drain(engine, slack_setup(fake_slack, topics))
    assert (report.failed, report.skipped, report.sent) == (1, 1, 1)  # elections' channel: sent
    assert any("kept for later: the bot is not in" in e for e in report.errors)


def test_a_rejected_token_is_not_tried_again_in_that_drain_and_the_rest_stay_owed(
    engine, tmp_path, fake_slack
):
    topics = world(engine, tmp_path, [DEFENCE_ITEM, ELECTION_ITEM, *DEFENCE_STORIES[:2]])
    setup = slack_setup(fake_slack, topics)
    fake_slack.fail_next("chat.postMessage", "invalid_auth")
    report = run_drain(engine, setup)
    calls = sum(1 for method, _, _ in fake_slack.requests if method == "chat.postMessage")
    assert (report.failed, report.sent, calls) == (1, 0, 1)  # one call, not one per alert
    rows = statuses(engine).values()
    assert report.skipped == len(rows) - 1 > 1
    waiting = [row for row in rows if row[0] == "pending"]
    assert len(waiting) == report.skipped
    assert all(attempts == 0 and "SLACK_BOT_TOKEN" in error for _, attempts, error in waiting)
    assert any("kept for later: Slack rejected the bot token" in e for e in report.errors)
    # The token fixed (the fake accepts again): the next drain sends what was kept.
    later = run_drain(engine, setup)
    assert later.sent == report.skipped and later.failed == 0


def test_a_real_invalid_token_fails_alerts_without_leaking_the_token(
    engine, tmp_path, fake_slack, caplog
):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    config = Config(slack=SlackConfig(api_url=fake_slack.api_url, timeout=2))
    setup = alert_setup(config, topics, token="xoxb-wrong-token-999999")
    with caplog.at_level(logging.DEBUG):
        report = run_drain(engine, setup)
    assert report.failed == 1 and fake_slack.posts == []
    assert "xoxb-wrong-token-999999" not in caplog.text + str(report.errors) + repr(setup.sinks)
    assert "Sending a request - url: http://127.0.0.1" in caplog.text  # captured, not vacuous


def test_a_hang_after_slack_accepted_is_reconciled_not_posted_twice(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    setup = slack_setup(fake_slack, topics)
    fake_slack.fail_next("chat.postMessage", "hang_after_post", value=4)  # client timeout is 2s
    now = datetime.now(UTC)
    assert run_drain(engine, setup, now=now).retrying == 1
    assert len(fake_slack.posts) == 1, "Slack got it, the client timed out"
    later = run_drain(engine, setup, now=now + timedelta(hours=1))
    assert later.reconciled == 1 and later.sent == 0
    assert len(fake_slack.posts) == 1
    ((status, _, _),) = statuses(engine).values()
    assert status == "sent"


def test_a_hang_before_slack_accepted_is_sent_on_the_next_drain(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    setup = slack_setup(fake_slack, topics)
    fake_slack.fail_next("chat.postMessage", "hang", value=4)
    now = datetime.now(UTC)
    assert run_drain(engine, setup, now=now).retrying == 1 and fake_slack.posts == []
    assert run_drain(engine, setup, now=now + timedelta(hours=1)).sent == 1
    assert len(fake_slack.posts) == 1


def test_two_drains_at_once_send_each_alert_once(engine, tmp_path, fake_slack):
    import threading

    items = DEFENCE_STORIES[:4]
    topics = world(engine, tmp_path, items)
    settings = DrainSettings(digest_after=10, min_interval=0.05)
    barrier = threading.Barrier(2)

    def one() -> None:
        barrier.wait()
        run_drain(engine, slack_setup(fake_slack, topics), settings)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake_slack.posts) == 4
    assert {v[0] for v in statuses(engine).values()} == {"sent"}


def test_failed_alerts_can_be_retried_after_the_fix(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    setup = slack_setup(fake_slack, topics)
    fake_slack.fail_next("chat.postMessage", "not_in_channel")
    run_drain(engine, setup)
    assert outbox.retry_failed(engine, None, datetime.now(UTC)) == 1
    report = run_drain(engine, setup)
    assert report.sent == 1 and len(fake_slack.posts) == 1


def test_webhook_delivery_and_a_deleted_webhook(engine, tmp_path, fake_slack, caplog):
    topics = world(engine, tmp_path, [DEFENCE_ITEM, ELECTION_ITEM])
    config = Config(slack=SlackConfig(timeout=2, api_url=fake_slack.api_url))
    setup = alert_setup(config, topics, webhook_url=fake_slack.webhook_url)
    assert isinstance(setup.sinks["webhook"], WebhookSink)
    fake_slack.fail_next("webhook", "404")
    with caplog.at_level(logging.DEBUG):
        report = run_drain(engine, setup)
    # A deleted webhook fails its message, and the other is kept rather than sent to it too.
    assert (report.sent, report.failed, report.skipped, len(fake_slack.posts)) == (0, 1, 1, 0)
    failed = next(row for row in statuses(engine).values() if row[0] == "failed")
    assert "no longer exists" in failed[2] and "SLACK_WEBHOOK_URL" in failed[2]
    secret = fake_slack.webhook_path
    assert secret not in caplog.text + failed[2] + repr(setup.sinks) + str(report.errors)
    assert run_drain(engine, setup).sent == 1 and len(fake_slack.posts) == 1
    # not vacuous: slack_sdk did log its requests, with the URL scrubbed
    assert "Sending a request - url: [redacted]" in caplog.text


def test_adding_new_matches_between_drains_alerts_only_the_new(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    setup = slack_setup(fake_slack, topics)
    run_drain(engine, setup)
    world(
        engine,
        tmp_path,
        [DEFENCE_ITEM, DEFENCE_STORIES[0]],
    )
    assert run_drain(engine, setup).sent == 1 and len(fake_slack.posts) == 2


def test_a_topic_without_a_channel_is_a_config_error_with_a_token(fake_slack):
    from pipeline.errors import ConfigError

    orphan = compile_topic("orphan", "Orphan", "x")
    with pytest.raises(ConfigError, match=r"orphan have no slack\.channel"):
        slack_setup(fake_slack, [orphan])
    assert isinstance(
        slack_setup(fake_slack, [orphan], default_channel="#news").sinks["slack"], WebApiSink
    )


def test_secrets_stay_out_of_reprs():
    sink = WebApiSink.with_token(
        "xoxb-very-secret-token", base_url="http://127.0.0.1:1/api/", timeout=1
    )
    hook = WebhookSink("https://hooks.slack.com/services/T/B/verysecret", timeout=1)
    assert "very-secret" not in repr(sink) and "verysecret" not in repr(hook)
    config = Config(slack=SlackConfig(token="xoxb-very-secret-token"))
    assert "very-secret" not in repr(config) and "very-secret" not in str(config.model_dump())


def test_a_token_revoked_while_checking_what_was_posted_keeps_the_alerts_uncounted(
    engine, tmp_path, fake_slack
):
    topics = world(engine, tmp_path, [DEFENCE_ITEM, ELECTION_ITEM])  # two channels
    setup = slack_setup(fake_slack, topics)
    fake_slack.fail_next("chat.postMessage", "500", count=2)  # may have arrived: check first
    now = datetime.now(UTC)
    assert run_drain(engine, setup, now=now).retrying == 2
    fake_slack.fail_next("conversations.history", "token_revoked")
    kept = run_drain(engine, setup, now=now + timedelta(hours=1))
    checks = sum(1 for method, _, _ in fake_slack.requests if method == "conversations.history")
    assert (kept.skipped, kept.failed, checks) == (2, 0, 1)  # the other channel: no call
    rows = statuses(engine).values()
    assert all(s == "pending" and attempts == 1 and "revoked" in e for s, attempts, e in rows)
    fixed = run_drain(engine, setup, now=now + timedelta(hours=2))
    assert fixed.sent == 2 and {row[0] for row in statuses(engine).values()} == {"sent"}
