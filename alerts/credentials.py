"""Which Slack credential applies, where it came from, and whether it has the right form:
shared by the alert setup, the web app and `topics check`, which must say where alerts go
without loading the Slack client."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from pipeline.config import Config, secret_value
from pipeline.topics import Topic

SLACK_WEBHOOK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")
_TOKEN_PREFIXES = ("xoxb-", "xoxp-", "xoxe.xoxb-", "xoxe.xoxp-")  # bot, user, rotating
_EXPECTED_WEBHOOK = "expected https://hooks.slack.com/services/..."


def slack_token(
    config: Config, *, token: str | None = None, client_token: str | None = None
) -> tuple[str, str | None]:
    """(where it came from, the bot token): a Slack client's (under Airflow, the
    `slack_api_default` connection's), an explicit argument, `slack.token`, then the
    SLACK_BOT_TOKEN environment variable; ("", None) when none is set."""
    return _first(
        ("the slack_api_default connection", client_token),
        ("token", token),
        ("slack.token", secret_value(config.slack.token)),
        ("SLACK_BOT_TOKEN", os.environ.get("SLACK_BOT_TOKEN")),
    )


def slack_webhook(config: Config, *, url: str | None = None) -> tuple[str, str | None]:
    """(where it came from, the incoming-webhook URL): an explicit argument,
    `slack.webhook_url`, then SLACK_WEBHOOK_URL; ("", None) when none is set."""
    return _first(
        ("webhook_url", url),
        ("slack.webhook_url", secret_value(config.slack.webhook_url)),
        ("SLACK_WEBHOOK_URL", os.environ.get("SLACK_WEBHOOK_URL")),
    )


def slack_channel(config: Config, topic: Topic) -> str | None:
    """The Slack channel a topic's alerts go to with a bot token: its own, else the default."""
    return topic.channel or config.slack.default_channel


def _first(*candidates: tuple[str, str | None]) -> tuple[str, str | None]:
    return next(((key, value) for key, value in candidates if value), ("", None))


def token_problem(token: str) -> str | None:
    """What is wrong with the form of a Slack token, without quoting it; None when it looks
    like one (a bot or user token, `xoxb-` / `xoxp-`, possibly rotating: `xoxe.`)."""
    if not token.isprintable() or any(char.isspace() for char in token):
        return "contains spaces, line breaks or control characters (a paste error?)"
    if token.startswith("xapp-"):
        return "an app-level token (xapp-...); alerts need the bot token (xoxb-...)"
    if not token.startswith(_TOKEN_PREFIXES):
        return "not a Slack bot token (expected xoxb-...)"
    return None


def webhook_problem(url: str, api_url: str) -> str | None:
    """What is wrong with the form of an incoming-webhook URL, without quoting it; None when
    it is an https URL on hooks.slack.com (or hooks.slack-gov.com) under /services/, or any
    URL on the scheme, host and port of `slack.api_url`: the explicit opt-in by which tests
    (a fake Slack on 127.0.0.1) and relays point newswatch somewhere else."""
    if not url.isprintable() or any(char.isspace() for char in url):
        return "contains spaces, line breaks or control characters (a paste error?)"
    parts, base = urlsplit(url), urlsplit(api_url)
    if "://" not in url or parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not a URL with an https:// scheme and a host ({_EXPECTED_WEBHOOK})"
    try:
        origin = (parts.scheme, parts.hostname, parts.port)
    except ValueError:
        return f"an invalid port ({_EXPECTED_WEBHOOK})"
    if origin == (base.scheme, base.hostname, base.port):
        return None
    if parts.scheme != "https":
        return f"not https ({_EXPECTED_WEBHOOK})"
    if parts.hostname not in SLACK_WEBHOOK_HOSTS or parts.port not in (None, 443):
        return (
            f"not on hooks.slack.com ({_EXPECTED_WEBHOOK}; another host must be the one "
            "of slack.api_url)"
        )
    if not parts.path.startswith("/services/"):
        return f"not an incoming-webhook URL ({_EXPECTED_WEBHOOK})"
    return None
