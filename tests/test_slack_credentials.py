"""Slack credentials of the wrong form (issue 9, case 4): named, never printed, and nothing lost."""

from __future__ import annotations

import logging
import textwrap
from datetime import UTC, datetime

import pytest

from alerts.credentials import token_problem, webhook_problem
from alerts.destinations import AlertSetup
from alerts.slack import WebhookSink
from pipeline.config import Config, load_config
from pipeline.errors import ConfigError
from tests.test_alerts import DEFENCE_ITEM, ELECTION_ITEM, FAST, run_drain, statuses, world
from tests.test_alerts_cli import alert_rows, write_config

TYPO = "127.0.0.1:8080/services/T/B/secret"  # the reported value: the scheme forgotten
FAKE_API = "http://127.0.0.1:5555/api/"


def leaks(text: str) -> bool:
    return "B/secret" in text or "127.0.0.1:8080" in text


def test_a_webhook_url_typo_is_named_never_printed_and_the_run_goes_on(
    tmp_path, fake_slack, database_url, cli
):
    # Issue 9, case 4: this crashed every `run` and `alerts send` with a SlackRequestError
    # traceback printing the whole URL, and left an alert 'sending'.
    config = write_config(tmp_path, fake_slack, database_url)
    config.write_text(config.read_text().replace("  token: ${TEST_SLACK_TOKEN}\n", ""))
    typo = {"SLACK_WEBHOOK_URL": TYPO, "SLACK_BOT_TOKEN": ""}

    run = cli("run", "-vv", "-c", str(config), env=typo)
    everything = run.stdout + run.stderr
    assert not leaks(everything), everything
    assert "Traceback" not in everything
    assert run.stderr.count("SLACK_WEBHOOK_URL: not a URL with an https:// scheme") == 1, "once"
    assert "poll summary" in run.stdout and "scored 2 new article(s)" in run.stdout, "it went on"
    assert "alerts: 0 sent" in run.stdout and "2 kept for later" in run.stdout
    assert run.returncode == 1, "so that a scheduler notices"
    assert [row.status for row in alert_rows(database_url)] == ["pending", "pending"]

    send = cli("alerts", "send", "-vv", "-c", str(config), env=typo)
    assert not leaks(send.stdout + send.stderr) and "Traceback" not in send.stderr
    assert "SLACK_WEBHOOK_URL: not a URL" in send.stderr and send.returncode == 1
    assert [row.status for row in alert_rows(database_url)] == ["pending", "pending"]
    assert fake_slack.requests == []

    fixed = cli(
        "alerts", "send", "-c", str(config), env={"SLACK_WEBHOOK_URL": fake_slack.webhook_url}
    )
    assert fixed.returncode == 0 and "alerts: 2 sent" in fixed.stdout
    assert [row.status for row in alert_rows(database_url)] == ["sent", "sent"]
    assert len(fake_slack.posts) == 2


def test_a_malformed_token_in_the_config_is_named_and_never_printed(
    tmp_path, fake_slack, database_url, cli
):
    config = write_config(tmp_path, fake_slack, database_url)
    bad = "Bearer xoxb-1234-pasted-with-its-prefix"
    result = cli("run", "-c", str(config), env={"TEST_SLACK_TOKEN": bad})
    assert "slack.token: contains spaces" in result.stderr and result.returncode == 1
    assert "pasted-with" not in result.stdout + result.stderr
    assert [row.status for row in alert_rows(database_url)] == ["pending", "pending"]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (TYPO, "not a URL with an https:// scheme"),
        ("hooks.slack.com/services/T1/B1/abcdef", "not a URL with an https:// scheme"),
        ("http://hooks.slack.com/services/T1/B1/abcdef", "not https"),
        ("https://hooks.slack.com.attacker.example/services/T1/B1/abcdef", "not on hooks.slack"),
        ("https://hooks.slack.com/workflows/T1/abcdef", "not an incoming-webhook URL"),
        ("https://hooks.slack.com/services/T1/B1/abcdef\n", "contains spaces, line breaks"),
        ("https://hooks.slack.com:99999/services/T1/B1/abcdef", "an invalid port"),
        ("http://127.0.0.1:5555/services/T1/B1/abcdef", None),  # on slack.api_url's host
        ("http://127.0.0.1:6666/services/T1/B1/abcdef", "not https"),  # another port
        ("https://hooks.slack.com/services/T1/B1/abcdef", None),
        ("https://hooks.slack-gov.com/services/T1/B1/abcdef", None),
    ],
)
def test_webhook_url_forms(url, problem):
    found = webhook_problem(url, FAKE_API)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found
        assert "abcdef" not in found and "secret" not in found


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("xoxb-1234-5678-abcdef", None),
        ("xoxp-1234-5678-abcdef", None),
        ("xoxe.xoxb-1-abcdef", None),
        ("xapp-1-A1-abcdef", "app-level token"),
        ("abcdef-1234", "not a Slack bot token"),
        ("xoxb-1234-abcdef\n", "contains spaces"),
    ],
)
def test_token_forms(token, problem):
    found = token_problem(token)
    assert (found is None) if problem is None else (problem in found and "abcdef" not in found)


def test_slack_api_url_must_be_an_http_url(tmp_path):
    path = tmp_path / "newswatch.yaml"
    path.write_text(textwrap.dedent("slack:\n  api_url: slack.com/api\n"))
    with pytest.raises(ConfigError, match=r"slack\.api_url: expected an http\(s\) URL"):
        load_config(path)
    path.write_text("slack:\n  api_url: http://127.0.0.1:9/api\n")
    assert load_config(path).config.slack.api_url == "http://127.0.0.1:9/api/"


@pytest.mark.parametrize(
    ("api_url", "warned"),
    [
        ("http://slack-relay.example.org/api/", True),
        ("http://10.0.0.5:8080/api/", True),
        ("http://127.0.0.1:9/api/", False),
        ("http://localhost:9/api/", False),
        ("https://slack-relay.example.org/api/", False),
    ],
)
def test_a_bot_token_over_plain_http_is_warned_about_except_on_this_machine(
    api_url, warned, caplog
):
    from alerts.destinations import alert_setup
    from pipeline.config import SlackConfig

    config = Config(slack=SlackConfig(api_url=api_url, default_channel="#news"))
    with caplog.at_level(logging.WARNING, logger="alerts.destinations"):
        alert_setup(config, [], token="xoxb-1-2-abcdefghijkl")
    said = [r.getMessage() for r in caplog.records if "unencrypted" in r.getMessage()]
    assert bool(said) == warned
    assert all("xoxb" not in line for line in said)


def test_a_sink_that_raises_leaves_no_alert_sending_and_no_secret(engine, tmp_path, caplog):
    # Past the form check (a URL slack_sdk still refuses): the alert goes back to pending with a
    # scrubbed reason, and the other alerts go on.
    topics = world(engine, tmp_path, [DEFENCE_ITEM, ELECTION_ITEM])
    sink = WebhookSink(TYPO, timeout=1)
    setup = AlertSetup(
        {"webhook": sink}, {t.id: "webhook" for t in topics}, {t.id: t.name for t in topics}, FAST
    )
    with caplog.at_level(logging.DEBUG):
        report = run_drain(engine, setup, now=datetime.now(UTC))
    assert report.retrying == 2 and report.sent == 0
    rows = list(statuses(engine).values())
    assert {status for status, _, _ in rows} == {"pending"}
    assert all(error.startswith("could not send (SlackRequestError") for _, _, error in rows)
    assert not leaks(caplog.text + str(rows) + str(report.errors) + repr(sink))


def test_an_unconfigured_setup_still_prints_in_the_terminal(monkeypatch):
    from alerts.destinations import alert_setup

    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    setup = alert_setup(Config(), [])
    assert setup.problem is None and list(setup.sinks) == ["console"]


def test_proxy_credentials_never_reach_the_log(monkeypatch, caplog):
    from alerts.slack import WebApiSink

    monkeypatch.setenv("HTTPS_PROXY", "http://newswatch:hunter2-proxy@127.0.0.1:9/")
    with caplog.at_level(logging.DEBUG):
        WebApiSink.with_token("xoxb-1-abcdef", base_url=FAKE_API, timeout=1)
    assert "HTTP proxy URL has been loaded" in caplog.text  # logged, so not vacuous
    assert "hunter2" not in caplog.text and "http://[redacted]@127.0.0.1:9/" in caplog.text


def test_the_scheduler_job_fails_on_a_malformed_webhook_after_scoring(
    tmp_path, fake_slack, database_url, monkeypatch
):
    # Under Airflow the task must fail (so its failure callbacks fire); the matches stay stored
    # and their alerts wait in the outbox for the fix, and the message names the key only.
    from pipeline.jobs import AlertsNotSent, poll_shard, score_and_alert

    config = write_config(tmp_path, fake_slack, database_url)
    config.write_text(config.read_text().replace("  token: ${TEST_SLACK_TOKEN}\n", ""))
    monkeypatch.setenv("SLACK_WEBHOOK_URL", TYPO)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "")
    poll_shard(str(config), database_url, ["Wire"])

    with pytest.raises(AlertsNotSent) as failure:
        score_and_alert(str(config), database_url)
    assert "SLACK_WEBHOOK_URL" in str(failure.value) and not leaks(str(failure.value))
    assert [row.status for row in alert_rows(database_url)] == ["pending", "pending"]
    assert fake_slack.requests == []

    monkeypatch.setenv("SLACK_WEBHOOK_URL", fake_slack.webhook_url)
    summary = score_and_alert(str(config), database_url)
    assert summary["sent"] == 2 and len(fake_slack.posts) == 2
