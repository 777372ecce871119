"""Keeping secrets out of what is logged, stored or shown: the bot token and the webhook URL
(whose path is its secret) are known to a `Redactor`, which every error text and every log
record of a Slack client passes through."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from pipeline.redact import without_userinfo


class Redactor:
    """Removes secrets from text before it is logged, stored or shown: the ones it knows, and
    the credentials in any URL (slack_sdk logs the proxy URL it takes from HTTPS_PROXY)."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return without_userinfo(text)


class RedactingFilter(logging.Filter):
    """Scrubs secrets from every log record that passes it."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redactor(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def client_logger(kind: str, redactor: Redactor) -> logging.Logger:
    """A logger of our own for a slack_sdk client, scrubbing the secret: slack_sdk logs request
    URLs at DEBUG, and an incoming webhook's URL is its secret."""
    logger = logging.getLogger(f"alerts.slack.{kind}.{id(redactor)}")
    logger.addFilter(RedactingFilter(redactor))
    return logger
