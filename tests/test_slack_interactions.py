"""The alert buttons end to end: alerts drained to the fake Slack, clicks built and signed as
Slack does, posted over HTTP to the app running in uvicorn, labels in the database (SQLite and
PostgreSQL), and the message updated through chat.update."""

from __future__ import annotations

import time
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import func, select

from alerts.interactions import MessageUpdater
from pipeline.config import Config, FeedConfig
from pipeline.poll import poll
from pipeline.score import score_new_articles
from pipeline.store.schema import LabelRow, SlackRequestRow, StoryMuteRow
from tests.live import (
    SIGNING_SECRET,
    click_payload,
    eventually,
    form_body,
    serving,
    signed_headers,
    site_for,
)
from tests.test_alerts import (
    DEFENCE_ITEM,
    DEFENCE_STORIES,
    ELECTION_ITEM,
    FAST,
    run_drain,
    slack_setup,
    world,
)
from tests.test_stories import feed
from web.app import create_app


def labels_in(engine) -> list[tuple[str, int, str, str, str | None, str]]:
    with engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                select(
                    LabelRow.topic_id,
                    LabelRow.article_id,
                    LabelRow.label,
                    LabelRow.labelled_by,
                    LabelRow.labelled_by_id,
                    LabelRow.source,
                ).order_by(LabelRow.id)
            )
        ]


def count(engine, table) -> int:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(table))


@pytest.fixture
def sent(engine, tmp_path, fake_slack):
    """Two alerts (defence, elections) posted to the fake Slack, and the app serving."""
    topics = world(engine, tmp_path, [DEFENCE_ITEM, ELECTION_ITEM])
    assert run_drain(engine, slack_setup(fake_slack, topics)).sent == 2
    with serving(create_app(site_for(engine, fake_slack, topics))) as base:
        yield base, topics


def click(base: str, post, action_id: str, **options) -> httpx.Response:
    body = form_body(click_payload(post, action_id, **options))
    return httpx.post(f"{base}/slack/interactions", content=body, headers=signed_headers(body))


def feedback_of(fake_slack, post) -> str | None:
    blocks = fake_slack.post_at(post.channel_id, post.ts).payload["blocks"]
    shown = [b for b in blocks if b.get("block_id") == "newswatch_feedback"]
    return shown[0]["elements"][0]["text"] if shown else None


@pytest.mark.parametrize(
    ("action_id", "label", "line"),
    [
        ("newswatch_relevant", "relevant", "Marked relevant by <@U0ANA1234>"),
        ("newswatch_not_relevant", "not_relevant", "Marked not relevant by <@U0ANA1234>"),
    ],
)
def test_a_label_button_records_the_label_and_updates_the_message(
    engine, fake_slack, sent, action_id, label, line
):
    base, _ = sent
    (post,) = fake_slack.posts_to("C0DEFENCE1")
    response = click(base, post, action_id)
    assert response.status_code == 200 and response.content == b""
    eventually(lambda: fake_slack.updates, what="chat.update")
    ((topic, article, given, by, by_id, source),) = labels_in(engine)
    assert (topic, given, by, by_id, source) == ("defence", label, "ana", "U0ANA1234", "slack")
    assert "Defence Secretary meets Israeli counterpart" in str(post.payload["blocks"])
    (update,) = fake_slack.updates
    assert (update["channel"], update["ts"]) == ("C0DEFENCE1", post.ts)
    assert feedback_of(fake_slack, post) == line
    assert update["metadata"]["event_payload"]["alert_ids"]  # reconciliation still finds it
    # The buttons stay, so a change of mind is one more click; the other alert is untouched.
    assert [b["type"] for b in update["blocks"]][-2:] == ["context", "actions"]
    assert feedback_of(fake_slack, fake_slack.posts_to("C0ELECTNS2")[0]) is None
    assert article > 0


def test_clicking_again_changes_the_label_and_a_double_click_leaves_one(engine, fake_slack, sent):
    base, _ = sent
    (post,) = fake_slack.posts_to("C0DEFENCE1")
    assert click(base, post, "newswatch_relevant").status_code == 200
    assert click(base, post, "newswatch_relevant").status_code == 200  # a double click
    eventually(lambda: len(fake_slack.updates) == 2, what="two updates")
    assert [row[2] for row in labels_in(engine)] == ["relevant"]
    assert click(base, post, "newswatch_not_relevant", user=("U0BEN5678", "ben")).status_code == 200
    eventually(lambda: len(fake_slack.updates) == 3, what="the third update")
    assert [row[2:5] for row in labels_in(engine)] == [("not_relevant", "ben", "U0BEN5678")]
    assert feedback_of(fake_slack, post) == "Marked not relevant by <@U0BEN5678>"
    blocks = fake_slack.post_at(post.channel_id, post.ts).payload["blocks"]
    assert sum(b.get("block_id") == "newswatch_feedback" for b in blocks) == 1


def test_a_click_is_answered_before_the_work_is_done(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    run_drain(engine, slack_setup(fake_slack, topics))
    updater = MessageUpdater(fake_slack.token, base_url=fake_slack.api_url, timeout=60)
    release = fake_slack.hold("chat.update")  # Slack is slow to take the message's edit
    with serving(create_app(site_for(engine, fake_slack, topics, updater=updater))) as base:
        try:
            (post,) = fake_slack.posts
            # Had the endpoint waited for the edit, this would time out (httpx waits 5 s).
            assert click(base, post, "newswatch_relevant").status_code == 200
            eventually(
                lambda: fake_slack.requests_to("chat.update", "C0DEFENCE1"),
                what="the edit, asked for after the answer",
            )
            assert fake_slack.updates == [] and [r[2] for r in labels_in(engine)] == ["relevant"]
            release.set()
            eventually(lambda: fake_slack.updates, what="the edit to be taken")
        finally:
            release.set()
    assert feedback_of(fake_slack, post) == "Marked relevant by <@U0ANA1234>"


def test_unsigned_mis_signed_stale_and_replayed_requests_are_refused(engine, fake_slack, sent):
    base, _ = sent
    (post,) = fake_slack.posts_to("C0DEFENCE1")
    url = f"{base}/slack/interactions"
    body = form_body(click_payload(post, "newswatch_not_relevant"))
    tampered = body.replace(b"not_relevant", b"relevant", 1)
    refused = {
        "unsigned": httpx.post(
            url, content=body, headers={"Content-Type": "x-www-form-urlencoded"}
        ),
        "wrong secret": httpx.post(
            url, content=body, headers=signed_headers(body, secret="0" * 32)
        ),
        "tampered": httpx.post(url, content=tampered, headers=signed_headers(body)),
        "stale": httpx.post(
            url, content=body, headers=signed_headers(body, timestamp=int(time.time()) - 301)
        ),
        "from the future": httpx.post(
            url, content=body, headers=signed_headers(body, timestamp=int(time.time()) + 330)
        ),
    }
    assert {name: r.status_code for name, r in refused.items()} == dict.fromkeys(refused, 401)
    assert labels_in(engine) == [] and fake_slack.updates == []
    assert count(engine, SlackRequestRow) == 0  # nothing unverified is even remembered

    headers = signed_headers(body)
    assert httpx.post(url, content=body, headers=headers).status_code == 200
    eventually(lambda: fake_slack.updates, what="chat.update")
    replay = httpx.post(url, content=body, headers=headers)
    assert replay.status_code == 401
    time.sleep(0.5)  # a replay that got through would now be recording: nothing must come
    assert len(labels_in(engine)) == 1 and len(fake_slack.updates) == 1


def test_without_a_signing_secret_every_click_is_refused(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    run_drain(engine, slack_setup(fake_slack, topics))
    with serving(create_app(site_for(engine, fake_slack, topics, slack_check=None))) as base:
        (post,) = fake_slack.posts
        assert click(base, post, "newswatch_relevant").status_code == 401
    assert labels_in(engine) == []


def test_mute_stops_thread_replies_for_that_story_and_topic(engine, tmp_path, fake_slack):
    # Both alerts' stories will be reported again by a second outlet.
    first = FeedConfig(
        name="Desk", url=str(feed(tmp_path / "a.xml", [DEFENCE_ITEM, ELECTION_ITEM], "a.example"))
    )
    poll(engine, Config(feeds=[first]))
    topics = world(engine, tmp_path, [])
    score_new_articles(engine, topics)
    setup = slack_setup(fake_slack, topics, min_interval=0)
    assert run_drain(engine, setup).sent == 2
    with serving(create_app(site_for(engine, fake_slack, topics))) as base:
        (defence,) = fake_slack.posts_to("C0DEFENCE1")
        assert click(base, defence, "newswatch_mute").status_code == 200
        eventually(lambda: fake_slack.updates, what="chat.update")
        assert click(base, defence, "newswatch_mute").status_code == 200  # muting twice: one mute
        eventually(lambda: len(fake_slack.updates) == 2, what="the second update")
    assert count(engine, StoryMuteRow) == 1 and labels_in(engine) == []
    assert feedback_of(fake_slack, defence) == ("Story muted by <@U0ANA1234>: no more follow-ups")
    copies = FeedConfig(
        name="Wire", url=str(feed(tmp_path / "b.xml", [DEFENCE_ITEM, ELECTION_ITEM], "b.example"))
    )
    poll(engine, Config(feeds=[copies]))
    score_new_articles(engine, topics)
    report = run_drain(engine, setup)
    replies = [p for p in fake_slack.posts if p.payload.get("thread_ts")]
    assert report.follow_ups == 1 and [p.channel_id for p in replies] == ["C0ELECTNS2"]


def test_a_digest_button_judges_every_article_it_lists(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, DEFENCE_STORIES[:7])
    assert run_drain(engine, slack_setup(fake_slack, topics)).digests == 1
    with serving(create_app(site_for(engine, fake_slack, topics))) as base:
        (digest,) = fake_slack.posts
        assert click(base, digest, "newswatch_not_relevant").status_code == 200
        eventually(lambda: fake_slack.updates, what="chat.update")
    judged = labels_in(engine)
    assert len(judged) == 7 and {row[2] for row in judged} == {"not_relevant"}
    assert feedback_of(fake_slack, digest) == ("7 of 7 marked not relevant (last by <@U0ANA1234>)")


def test_without_a_bot_token_the_message_is_replaced_through_response_url(
    engine, tmp_path, fake_slack
):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    run_drain(engine, slack_setup(fake_slack, topics))
    site = site_for(engine, fake_slack, topics, updater=MessageUpdater(None))
    with serving(create_app(site)) as base:
        (post,) = fake_slack.posts
        response = click(base, post, "newswatch_relevant", response_url=fake_slack.response_url)
        assert response.status_code == 200
        eventually(lambda: fake_slack.updates, what="the response_url post")
    assert feedback_of(fake_slack, post) == "Marked relevant by <@U0ANA1234>"
    assert not any(method == "chat.update" for method, _, _ in fake_slack.requests)
    assert [row[2] for row in labels_in(engine)] == ["relevant"]


def test_the_open_button_leads_to_the_page_and_changes_nothing(engine, tmp_path, fake_slack):
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    run_drain(
        engine, slack_setup(fake_slack, topics), replace(FAST, web_url="https://news.example")
    )
    (post,) = fake_slack.posts
    (button,) = [
        e for e in post.payload["blocks"][-1]["elements"] if e["action_id"] == "newswatch_open"
    ]
    alert_id = post.payload["metadata"]["event_payload"]["alert_ids"][0]
    assert button["url"] == f"https://news.example/alerts/{alert_id}"
    with serving(create_app(site_for(engine, fake_slack, topics))) as base:
        assert click(base, post, "newswatch_open").status_code == 200
        time.sleep(0.5)
    assert labels_in(engine) == [] and fake_slack.updates == []


def test_the_signing_secret_is_checked_at_load_and_never_shown(
    engine, tmp_path, fake_slack, sent, caplog
):
    from alerts.interactions import RequestCheck
    from pipeline.config import load_config
    from pipeline.errors import ConfigError

    path = tmp_path / "newswatch.yaml"
    path.write_text(f"slack:\n  signing_secret: {SIGNING_SECRET}\n")
    config = load_config(path).config
    assert SIGNING_SECRET not in repr(config) and SIGNING_SECRET not in str(config.slack)
    path.write_text("slack:\n  signing_secret: 'xoxb paste error'\n")
    with pytest.raises(ConfigError, match=r"slack\.signing_secret: expected the app's signing"):
        load_config(path)
    assert SIGNING_SECRET not in repr(RequestCheck(SIGNING_SECRET, engine))

    base, _ = sent
    (post,) = fake_slack.posts_to("C0DEFENCE1")
    body = form_body(click_payload(post, "newswatch_relevant"))
    with caplog.at_level("DEBUG"):
        headers = signed_headers(body, secret="1" * 32)
        assert (
            httpx.post(f"{base}/slack/interactions", content=body, headers=headers).status_code
            == 401
        )
    assert "refused a Slack request: signature does not match" in caplog.text
    assert SIGNING_SECRET not in caplog.text


def test_the_signing_secret_may_come_from_the_environment(tmp_path, monkeypatch, caplog):
    from tests.served import example_with_matches
    from web.site import open_site

    config = example_with_matches(tmp_path)  # its config has no slack section at all
    monkeypatch.chdir(config.parent)
    monkeypatch.delenv("SLACK_SIGNING_SECRET", raising=False)
    assert open_site(config).slack_check is None
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    site = open_site(config)
    body = form_body({"type": "block_actions", "actions": []})  # verified, then nothing to do
    try:
        with serving(create_app(site)) as base, caplog.at_level("DEBUG"):
            url = f"{base}/slack/interactions"
            assert httpx.post(url, content=body, headers=signed_headers(body)).status_code == 200
            wrong = signed_headers(body, secret="2" * 32)
            assert httpx.post(url, content=body, headers=wrong).status_code == 401
    finally:
        site.close()
    assert SIGNING_SECRET not in caplog.text and SIGNING_SECRET not in repr(site)
