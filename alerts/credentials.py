"""Which Slack credential applies, and where it came from: shared by the alert setup and by
`topics check`, which must say where alerts go without loading the Slack client."""

from __future__ import annotations

import os

from pipeline.config import Config


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


def _first(*candidates: tuple[str, str | None]) -> tuple[str, str | None]:
    return next(((key, value) for key, value in candidates if value), ("", None))


def secret_value(value: object) -> str | None:
    """The text of a config secret (a pydantic SecretStr), or None when it is not set."""
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]
