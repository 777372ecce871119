"""Socket Mode: clicks delivered over the WebSocket newswatch opens to Slack (slack_sdk's own
client against a fake Slack Web API and Socket Mode server on 127.0.0.1), acknowledged at
once, recorded as labels and mutes (SQLite and PostgreSQL), and shown on the message."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from alerts.interactions import MessageUpdater
from alerts.socket_mode import ClickListener
from pipeline import store
from pipeline.errors import NewswatchError
from pipeline.store import labels
from pipeline.store.schema import AlertRow, StoryMuteRow
from tests.fake_socket_mode import FakeSocketMode, start, stop
from tests.live import click_payload, eventually
from tests.served import example_with_matches, newswatch_serve
from tests.test_alerts import DEFENCE_ITEM, run_drain, slack_setup, world
from tests.test_slack_interactions import count, feedback_of, labels_in
from web.site import listen_over_socket_mode, open_site


@pytest.fixture
def socket_mode(fake_slack):
    fake = start(FakeSocketMode())
    fake_slack.socket_url = fake.url
    yield fake
    stop(fake)


@pytest.fixture
def listening(engine, tmp_path, fake_slack, socket_mode):
    """One alert in the fake Slack, and newswatch connected over Socket Mode."""
    topics = world(engine, tmp_path, [DEFENCE_ITEM])
    assert run_drain(engine, slack_setup(fake_slack, topics)).sent == 1
    updater = MessageUpdater(fake_slack.token, base_url=fake_slack.api_url, timeout=60)
    listener = ClickListener(engine, updater, fake_slack.app_token, api_url=fake_slack.api_url)
    listener.connect()
    try:
        eventually(socket_mode.connected, what="the Socket Mode connection")
        yield fake_slack.posts[0]
    finally:
        listener.close()


def test_a_click_over_socket_mode_is_acknowledged_recorded_and_shown(
    engine, fake_slack, socket_mode, listening
):
    release = fake_slack.hold("chat.update")
    try:
        envelope = socket_mode.deliver(click_payload(listening, "newswatch_not_relevant"))
        # Acknowledged while the message's edit is still waiting on Slack: the ack came first.
        eventually(lambda: envelope in socket_mode.acks, what="the ack")
        eventually(lambda: labels_in(engine), what="the label")
        assert fake_slack.updates == []
    finally:
        release.set()
    eventually(lambda: fake_slack.updates, what="chat.update")
    ((topic, _, given, by, by_id, source),) = labels_in(engine)
    assert (topic, given, by, by_id, source) == (
        "defence",
        "not_relevant",
        "ana",
        "U0ANA1234",
        "slack",
    )
    assert feedback_of(fake_slack, listening) == "Marked not relevant by <@U0ANA1234>"


def test_a_redelivered_click_and_other_envelopes_change_nothing_more(
    engine, fake_slack, socket_mode, listening
):
    mute = click_payload(listening, "newswatch_mute")
    first = socket_mode.deliver(mute)
    eventually(lambda: fake_slack.updates, what="the first update")
    again = socket_mode.deliver(mute)  # Slack redelivers an envelope it thinks was not acked
    eventually(lambda: len(fake_slack.updates) == 2, what="the second update")
    other = socket_mode.deliver({"type": "event_callback"}, kind="events_api")
    view = socket_mode.deliver({"type": "view_submission"})
    eventually(lambda: {other, view} <= set(socket_mode.acks), what="every envelope acked")
    assert socket_mode.acks[:2] == [first, again]
    assert count(engine, StoryMuteRow) == 1 and labels_in(engine) == []
    assert len(fake_slack.updates) == 2


def test_a_refused_app_token_is_one_clear_error(engine, fake_slack, socket_mode, tmp_path):
    config = tmp_path / "newswatch.yaml"
    config.write_text(
        f"database: {{url: '{engine.url.render_as_string(hide_password=False)}'}}\n"
        f"slack: {{api_url: '{fake_slack.api_url}', app_token: xapp-1-wrong-token}}\n"
    )
    site = open_site(config)
    try:
        with pytest.raises(
            NewswatchError, match="Slack refused to open a connection: invalid_auth"
        ):
            listen_over_socket_mode(site)
        site.app_token = None
        with pytest.raises(NewswatchError, match=r"needs slack\.app_token or SLACK_APP_TOKEN"):
            listen_over_socket_mode(site)
    finally:
        site.close()
    assert "wrong-token" not in repr(site)


def test_serve_with_socket_mode_takes_clicks_without_a_public_url(
    tmp_path, fake_slack, socket_mode
):
    config = example_with_matches(tmp_path)  # its alerts went to the terminal
    with config.open("a") as settings:
        settings.write(f"slack:\n  api_url: {fake_slack.api_url}\n")
    environment = {"SLACK_APP_TOKEN": fake_slack.app_token, "SLACK_SIGNING_SECRET": ""}
    said: list[str] = []
    with newswatch_serve(config, "--socket-mode", env=environment, stderr=said):
        eventually(socket_mode.connected, what="serve to connect over Socket Mode")
        engine = store.open_database(f"sqlite:///{config.parent / 'newswatch.db'}")
        with engine.connect() as connection:
            alert_id, topic_id, article_id = connection.execute(
                select(AlertRow.id, AlertRow.topic_id, AlertRow.article_id).limit(1)
            ).one()
        click = {
            "type": "block_actions",
            "user": {"id": "U0BEN5678", "username": "ben"},
            "actions": [{"action_id": "newswatch_relevant", "value": str(alert_id)}],
            "response_url": fake_slack.response_url,
        }
        envelope = socket_mode.deliver(click)
        eventually(lambda: labels.labels_for(engine, topic_id, [article_id]), what="the label")
        # The fake server reads the ack on its own loop, so it can arrive after the label.
        eventually(lambda: envelope in socket_mode.acks, what="the envelope's ack")
        engine.dispose()
    assert "will be refused" not in said[0] and fake_slack.app_token not in said[0]


def test_the_app_token_is_checked_at_load_and_never_shown(tmp_path, fake_slack):
    from pipeline.config import load_config
    from pipeline.errors import ConfigError

    path = tmp_path / "newswatch.yaml"
    path.write_text(f"slack:\n  app_token: {fake_slack.app_token}\n")
    assert fake_slack.app_token not in repr(load_config(path).config)
    path.write_text(f"slack:\n  app_token: {fake_slack.token}\n")  # the bot token, pasted
    with pytest.raises(ConfigError, match=r"slack\.app_token: expected an app-level token"):
        load_config(path)
