"""Delivery rhythm (issue 14) with a controllable clock: scheduled digests at a local time across
both daylight-saving changes and a restart, quiet hours that hold and then release, and
exactly-once through reruns and a crash between Slack's reply and the outbox update. Real
slack_sdk against the fake Slack; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from alerts import outbox
from alerts.destinations import alert_setup
from pipeline import store
from pipeline.config import Config, FeedConfig, SlackConfig, TopicConfig, compile_topics
from pipeline.delivery import Rhythm
from pipeline.poll import poll
from pipeline.score import score_new_articles
from pipeline.store.schema import AlertRow
from tests.test_alerts import DEFENCE_STORIES, ELECTION_ITEM, feed_file
from tests.test_alerts_reliability import carried_by_posts

DEFENCE_QUERY = '"defence secretary" AND (meet* OR talks)'
LONDON = "Europe/London"


def config_for(fake, **delivery) -> Config:
    """Two topics: defence (with this delivery) to #defence-watch, elections (immediate, quiet
    hours too, but urgent) to #elections."""
    return Config(
        slack=SlackConfig(api_url=fake.api_url, timeout=2, min_interval=0),
        topics=[
            TopicConfig(
                id="defence",
                name="Defence meetings",
                query=DEFENCE_QUERY,
                slack={"channel": "#defence-watch"},
                delivery=Rhythm(**delivery),
            ),
            TopicConfig(
                id="elections",
                name="Elections",
                query="election*",
                threshold=0.3,
                slack={"channel": "#elections"},
                delivery=Rhythm(quiet_hours="22:00-07:00", timezone=LONDON, urgent=True),
            ),
        ],
    )


class Desk:
    """One feed, growing: `publish` adds items, polls and scores them at the given moment;
    `drain` sends what is due then. Each drain builds its setup afresh, as a new process does."""

    def __init__(self, engine, tmp_path, fake, config: Config) -> None:
        self.engine, self.tmp_path, self.fake, self.config = engine, tmp_path, fake, config
        self.items: list[tuple[str, str]] = []

    def publish(self, items, at: datetime) -> None:
        self.items += items
        feed = feed_file(self.tmp_path / f"feed{len(self.items)}.xml", self.items)
        poll(self.engine, Config(feeds=[FeedConfig(name="Desk", url=str(feed))]), force=True)
        score_new_articles(self.engine, compile_topics(self.config), now=at)

    def drain(self, at: datetime):
        setup = alert_setup(self.config, compile_topics(self.config), token=self.fake.token)
        return setup.drain(self.engine, sleep=lambda s: None, now=lambda: at)


def digests(fake) -> list[list[str]]:
    """The titles each digest posted to #defence-watch lists, in order."""
    found = []
    for post in fake.posts_to("C0DEFENCE1"):
        sections = [b["text"]["text"] for b in post.payload["blocks"] if b["type"] == "section"]
        found.append(sections)
    return found


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def assert_each_alert_in_one_post(engine, fake) -> None:
    with engine.connect() as connection:
        sent = {
            row.id: row.slack_ts
            for row in connection.execute(select(AlertRow.id, AlertRow.slack_ts))
        }
    carried = carried_by_posts(fake)
    assert set(carried) == set(sent) and set(carried.values()) == {1}
    posted = {post.ts for post in fake.posts}
    assert set(sent.values()) <= posted, "every alert is marked with the post that carried it"


def test_a_daily_digest_goes_out_once_at_eight_local_across_both_dst_changes_and_a_restart(
    engine, database_url, tmp_path, fake_slack
):
    config = config_for(fake_slack, mode="digest", every="1d", at="08:00", timezone=LONDON)
    desk = Desk(engine, tmp_path, fake_slack, config)
    one, two, three, four = DEFENCE_STORIES[:4]

    # Friday 27 March 2026, GMT (UTC+0).
    desk.publish([one], utc("2026-03-27 09:00"))
    assert desk.drain(utc("2026-03-27 09:00")).sent == 0
    assert desk.drain(utc("2026-03-28 07:59")).sent == 0
    report = desk.drain(utc("2026-03-28 08:00"))
    assert report.sent == 1 and report.digests == 1
    assert desk.drain(utc("2026-03-28 08:30")).sent == 0, "a rerun sends nothing"
    assert len(digests(fake_slack)) == 1 and one[0] in digests(fake_slack)[0][0]

    # Clocks go forward on Sunday 29 March at 01:00 UTC: 08:00 local is 07:00 UTC.
    desk.publish([two], utc("2026-03-28 10:00"))
    desk.publish([three], utc("2026-03-29 06:30"))  # 07:30 BST: in this morning's digest
    assert desk.drain(utc("2026-03-29 06:59")).sent == 0

    # A restart: the next drain runs on a new engine, as a new process would.
    engine.dispose()
    reopened = store.open_database(database_url)
    desk.engine = reopened
    report = desk.drain(utc("2026-03-29 07:00"))
    assert report.sent == 2 and len(digests(fake_slack)) == 2
    second = " ".join(digests(fake_slack)[1])
    assert two[0] in second and three[0] in second and one[0] not in second
    assert desk.drain(utc("2026-03-29 08:00")).sent == 0, "08:00 UTC is not the slot in BST"

    # Clocks go back on Sunday 25 October at 01:00 UTC: 08:00 local is 08:00 UTC again.
    desk.publish([four], utc("2026-10-24 10:00"))
    assert desk.drain(utc("2026-10-25 07:00")).sent == 0, "07:00 UTC is 07:00 GMT: too early"
    report = desk.drain(utc("2026-10-25 08:00"))
    assert report.sent == 1 and len(digests(fake_slack)) == 3
    assert four[0] in " ".join(digests(fake_slack)[2])
    assert desk.drain(utc("2026-10-26 08:00")).sent == 0
    assert_each_alert_in_one_post(reopened, fake_slack)
    reopened.dispose()


def test_a_digest_lists_stories_best_first_with_why_links_and_the_rest_counted(
    engine, tmp_path, fake_slack
):
    config = config_for(fake_slack, mode="digest", every="1w", day="friday", at="17:30")
    desk = Desk(engine, tmp_path, fake_slack, config)
    desk.publish(DEFENCE_STORIES, utc("2026-11-23 12:00"))  # Monday
    assert desk.drain(utc("2026-11-27 17:29")).sent == 0
    assert desk.drain(utc("2026-11-27 17:30")).sent == len(DEFENCE_STORIES)
    (post,) = fake_slack.posts_to("C0DEFENCE1")
    blocks = post.payload["blocks"]
    header = blocks[0]["text"]["text"]
    assert header == "Defence meetings: 8 stories (weekly on Friday at 17:30 UTC)"
    stories = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert len(stories) == 8 and all("*Why:*" in s and "<https://" in s for s in stories)
    scores = [float(s.rsplit("score ", 1)[1].split()[0]) for s in stories]
    assert scores == sorted(scores, reverse=True)
    ids = post.payload["metadata"]["event_payload"]["alert_ids"]
    assert len(ids) == 8, "every alert is in the digest's metadata"


def test_a_digest_of_more_stories_than_shown_counts_the_rest(engine, tmp_path, fake_slack):
    from alerts import message

    config = config_for(fake_slack, mode="digest", every="1h", at=":05")
    desk = Desk(engine, tmp_path, fake_slack, config)
    desk.publish(DEFENCE_STORIES, utc("2026-11-27 10:10"))
    shown, message.DIGEST_STORIES = message.DIGEST_STORIES, 3
    try:
        assert desk.drain(utc("2026-11-27 11:04")).sent == 0
        assert desk.drain(utc("2026-11-27 11:05")).sent == 8
    finally:
        message.DIGEST_STORIES = shown
    blocks = fake_slack.posts_to("C0DEFENCE1")[0].payload["blocks"]
    assert sum(b["type"] == "section" for b in blocks) == 3
    assert any(
        b["type"] == "context" and b["elements"][0]["text"] == "…and 5 more stories" for b in blocks
    )


def test_quiet_hours_hold_alerts_until_they_end_and_urgent_ones_break_through(
    engine, tmp_path, fake_slack
):
    config = config_for(fake_slack, quiet_hours="22:00-07:00", timezone=LONDON)
    desk = Desk(engine, tmp_path, fake_slack, config)
    desk.publish([DEFENCE_STORIES[0], ELECTION_ITEM], utc("2026-11-27 23:00"))
    report = desk.drain(utc("2026-11-27 23:00"))
    assert report.sent == 1, "the urgent topic (elections) breaks through"
    assert len(fake_slack.posts_to("C0ELECTNS2")) == 1 and fake_slack.posts_to("C0DEFENCE1") == []

    (held,) = [a for a in outbox.list_alerts(desk.engine, ["pending"], 10)]
    assert (held.topic_id, held.delivery, held.when) == ("defence", "held", utc("2026-11-28 07:00"))

    assert desk.drain(utc("2026-11-28 06:59")).sent == 0
    assert desk.drain(utc("2026-11-28 07:00")).sent == 1
    assert len(fake_slack.posts_to("C0DEFENCE1")) == 1
    assert desk.drain(utc("2026-11-28 07:30")).sent == 0, "a rerun sends nothing"
    assert_each_alert_in_one_post(desk.engine, fake_slack)


class Killed(BaseException):
    """The process dies here (nothing after it runs, nothing is rolled back)."""


def test_a_digest_posted_but_not_marked_is_found_in_slack_not_posted_again(
    engine, tmp_path, fake_slack, monkeypatch
):
    config = config_for(fake_slack, mode="digest", at="08:00", timezone=LONDON)
    desk = Desk(engine, tmp_path, fake_slack, config)
    desk.publish(DEFENCE_STORIES[:3], utc("2026-11-26 12:00"))

    def die(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(outbox, "mark_sent", die)
    with pytest.raises(Killed):
        desk.drain(utc("2026-11-27 08:00"))
    monkeypatch.undo()
    assert len(fake_slack.posts_to("C0DEFENCE1")) == 1
    assert {a.status for a in outbox.list_alerts(desk.engine, ["sending"], 10)} == {"sending"}

    # Within the lease the claim stands; after it, the next drain finds the digest in Slack.
    assert desk.drain(utc("2026-11-27 08:00:30")).sent == 0
    report = desk.drain(utc("2026-11-27 08:20"))
    assert report.reconciled == 3 and report.sent == 0
    assert len(fake_slack.posts_to("C0DEFENCE1")) == 1
    assert_each_alert_in_one_post(desk.engine, fake_slack)


def test_today_behaviour_is_the_default_immediate_with_bursts_digested(
    engine, tmp_path, fake_slack
):
    config = config_for(fake_slack)
    desk = Desk(engine, tmp_path, fake_slack, config)
    desk.publish(DEFENCE_STORIES[:2], utc("2026-11-27 03:00"))
    assert desk.drain(utc("2026-11-27 03:00")).sent == 2
    assert len(fake_slack.posts_to("C0DEFENCE1")) == 2


def test_the_command_holds_alerts_and_lists_them_held_with_until_when(
    tmp_path, fake_slack, database_url, cli
):
    from tests.test_alerts_cli import write_config

    config = write_config(tmp_path, fake_slack, database_url)
    # Quiet hours around the real clock (the command has no other), and a digest three hours on.
    now = datetime.now(UTC)
    quiet = f"{now - timedelta(hours=1):%H:%M}-{now + timedelta(hours=1):%H:%M}"
    digest_at = f"{now + timedelta(hours=3):%H:%M}"
    text = config.read_text()
    text = text.replace(
        "slack: {channel: '#defence-watch'}}",
        f"slack: {{channel: '#defence-watch'}}, delivery: {{quiet_hours: '{quiet}'}}}}",
    ).replace(
        "slack: {channel: '#elections'}}",
        f"slack: {{channel: '#elections'}}, delivery: {{mode: digest, at: '{digest_at}'}}}}",
    )
    config.write_text(text)

    dry = cli("run", "--dry-run", "-c", str(config))
    assert "dry run: 0 message(s) would be sent" in dry.stdout, dry.stdout
    run = cli("run", "-c", str(config))
    assert run.returncode == 0, run.stderr
    assert "alerts: 0 sent" in run.stdout and fake_slack.posts == []
    listing = cli("alerts", "-c", str(config))
    assert "2 pending" in listing.stdout
    until = f"until {now + timedelta(hours=1):%Y-%m-%d %H:%M} UTC"
    assert "held: quiet hours" in listing.stdout and until in listing.stdout, listing.stdout
    digest_until = f"until {now + timedelta(hours=3):%Y-%m-%d %H:%M} UTC (daily"
    assert "held: digest" in listing.stdout and digest_until in listing.stdout
