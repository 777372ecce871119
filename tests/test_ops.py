"""Operations messages (issue 14): the health summary reaches the ops channel once a day when
something is wrong and never when all is well; a stale feed that carried a topic's last matches
gets one note per episode; a crash between post and mark does not repeat a notice. Real
slack_sdk against the fake Slack, SQLite and PostgreSQL, a controllable clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from alerts import outbox
from alerts.destinations import alert_setup
from alerts.notices import NOTICES
from alerts.ops import deliver_ops
from pipeline import jobs, store
from pipeline.config import compile_topics, load_config
from pipeline.health import Problem
from pipeline.poll import poll
from pipeline.score import score_with
from tests.test_alerts import DEFENCE_ITEM, feed_file
from tests.test_delivery import Killed

OPS = "C0NEWSNEWS"  # #news in the fake Slack
MORNING = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


STALE = Problem(
    "stale",
    "feed",
    "World desk",
    "nothing new for 3 days (usually every 6 hours)",
    MORNING - timedelta(days=3),
    "stale:World desk:2026-11-24",
    topic_ids=("defence",),
)
SILENT = Problem(
    "silent", "topic", "elections", "no match for 9 days", MORNING - timedelta(days=9), "s:1"
)


@pytest.fixture
def desk(tmp_path, fake_slack, database_url, monkeypatch):
    """A config with one feed and the defence topic in `channel`; ops notes to #news."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", fake_slack.token)
    feed_file(tmp_path / "feed.xml", [DEFENCE_ITEM])
    engine = store.connect(database_url)
    store.upgrade(engine)  # as `newswatch db upgrade` does (PostgreSQL is not upgraded in place)
    engine.dispose()

    def write(channel: str = "#defence-watch", ops: str | None = "#news"):
        path = tmp_path / "newswatch.yaml"
        path.write_text(
            f"database: {{url: '{database_url}'}}\n"
            "feeds: [{name: Desk, url: feed.xml}]\n"
            f"slack: {{api_url: '{fake_slack.api_url}', timeout: 2, min_interval: 0"
            + (f", ops_channel: '{ops}'" if ops else "")
            + "}\n"
            'topics:\n  - {id: defence, name: Defence, query: \'"defence secretary" AND '
            f"(meet* OR talks)', slack: {{channel: '{channel}'}}}}\n"
        )
        with jobs.opened(str(path), None) as (config, engine):
            poll(engine, config, force=True)
            score_with(engine, config)
        return str(path)

    return write


def test_the_summary_goes_once_a_day_when_alerts_failed(desk, fake_slack):
    config = desk(channel="#archived")  # Slack refuses it: the alert fails for good
    summary = jobs.deliver(config, None, now=MORNING)
    assert summary["failed"] == 1 and summary["notices_sent"] == 1
    (note,) = fake_slack.posts_to(OPS)
    assert note.payload["blocks"][0]["text"]["text"] == "newswatch health: 1 problem"
    assert "1 failed" in str(note.payload["blocks"])
    assert note.payload["metadata"]["event_type"] == "newswatch_notice"

    assert jobs.deliver(config, None, now=MORNING + timedelta(hours=6))["notices_sent"] == 0
    assert len(fake_slack.posts_to(OPS)) == 1, "at most once a day"
    assert jobs.deliver(config, None, now=MORNING + timedelta(days=1))["notices_sent"] == 1
    assert len(fake_slack.posts_to(OPS)) == 2, "still wrong the next day: said again"


def test_nothing_reaches_the_ops_channel_when_all_is_well(desk, fake_slack):
    config = desk()
    for hours in (0, 6, 24, 48):
        summary = jobs.deliver(config, None, now=MORNING + timedelta(hours=hours))
        assert summary["notices_sent"] == 0
    assert len(fake_slack.posts_to("C0DEFENCE1")) == 1
    assert fake_slack.posts_to(OPS) == []


def test_without_an_ops_channel_no_notice_is_owed(desk, fake_slack):
    config = desk(channel="#archived", ops=None)
    assert jobs.deliver(config, None, now=MORNING)["notices_sent"] == 0
    with jobs.opened(config, None) as (_, engine):
        assert outbox.count_by_status(engine, NOTICES) == {}
    assert fake_slack.posts_to(OPS) == []


def setup_for(config_path):
    config = load_config(config_path).config
    return alert_setup(config, compile_topics(config))


def test_a_stale_feed_that_carried_a_topic_gets_one_note_per_episode(desk, fake_slack):
    config_path = desk()
    setup = setup_for(config_path)
    with jobs.opened(config_path, None) as (_, engine):
        setup.drain(engine, sleep=lambda s: None)  # the defence alert, all well

        def run(problems, at):
            return deliver_ops(engine, setup, problems, now=lambda: at, sleep=lambda s: None)

        assert run([STALE, SILENT], MORNING).sent == 2  # the note, then the summary
        note, report = fake_slack.posts_to(OPS)
        assert "World desk* has gone stale" in note.payload["text"]
        assert "`defence`" in note.payload["text"]
        blocks = str(report.payload["blocks"])
        assert "Stale feeds" in blocks and "Silent topics" in blocks and "elections" in blocks

        assert run([STALE, SILENT], MORNING + timedelta(hours=1)).sent == 0
        later = replace(STALE, key="stale:World desk:2026-11-30")
        assert run([later], MORNING + timedelta(days=3)).sent == 2  # a new episode, a new day
        assert len(fake_slack.posts_to(OPS)) == 4


def test_a_notice_posted_but_not_marked_is_found_not_posted_again(desk, fake_slack, monkeypatch):
    config_path = desk()
    setup = setup_for(config_path)
    with jobs.opened(config_path, None) as (_, engine):

        def run(at):
            return deliver_ops(engine, setup, [SILENT], now=lambda: at, sleep=lambda s: None)

        def die(*args, **kwargs):
            raise Killed

        monkeypatch.setattr(outbox, "mark_sent", die)
        with pytest.raises(Killed):
            run(MORNING)
        monkeypatch.undo()
        assert len(fake_slack.posts_to(OPS)) == 1
        assert outbox.count_by_status(engine, NOTICES) == {"sending": 1}
        report = run(MORNING + timedelta(minutes=20))  # the claim's lease has run out
        assert report.reconciled == 1 and report.sent == 0
        assert len(fake_slack.posts_to(OPS)) == 1 and outbox.count_by_status(engine, NOTICES) == {
            "sent": 1
        }
