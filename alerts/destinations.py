"""From the config to the sinks: which Slack (or the terminal) each topic's alerts go to."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from rich.console import Console
from slack_sdk import WebClient
from sqlalchemy import Engine

from pipeline.config import Config
from pipeline.errors import ConfigError
from pipeline.topics import Topic

from .drain import DrainSettings, drain
from .records import DrainReport
from .slack import ConsoleSink, RedactingFilter, Redactor, Sink, WebApiSink, WebhookSink


@dataclass
class AlertSetup:
    sinks: dict[str, Sink]
    destinations: dict[str, str]  # topic id -> "slack:#channel" | "webhook" | "console"
    topic_names: dict[str, str]
    settings: DrainSettings
    redactor: Redactor = field(default_factory=lambda: Redactor([]))

    def drain(
        self, engine: Engine, settings: DrainSettings | None = None, **options: Any
    ) -> DrainReport:
        """Drain the outbox through these sinks (options as for `alerts.drain.drain`)."""
        return drain(
            engine,
            self.sinks,
            self.topic_names,
            self.destinations,
            settings or self.settings,
            **options,
        )


def alert_setup(
    config: Config,
    topics: list[Topic],
    *,
    token: str | None = None,
    webhook_url: str | None = None,
    slack_client: WebClient | None = None,
    console: Console | None = None,
) -> AlertSetup:
    """Sinks and destinations for these topics. Credentials: the arguments (under Airflow, a
    client from the `slack_api_default` connection's hook), else the config, else
    SLACK_BOT_TOKEN / SLACK_WEBHOOK_URL, else none: the terminal."""
    slack = config.slack
    token = token or _secret(slack.token) or os.environ.get("SLACK_BOT_TOKEN") or None
    webhook_url = (
        webhook_url or _secret(slack.webhook_url) or os.environ.get("SLACK_WEBHOOK_URL") or None
    )
    settings = DrainSettings(
        digest_after=slack.digest_after,
        min_interval=slack.min_interval,
        max_attempts=slack.max_attempts,
        max_backoff=slack.max_backoff,
        lease=timedelta(seconds=max(60.0, 6 * slack.timeout)),
        backfill_alerts=config.backfill.alerts,
        web_url=config.web.base_url,
    )
    enabled = [t for t in topics if t.enabled]
    names = {t.id: t.name for t in topics}
    if slack_client is not None:
        token = slack_client.token
    redactor = Redactor([token, webhook_url])
    channels = {t.id: t.channel or slack.default_channel for t in enabled}
    if token:
        missing = [topic_id for topic_id, channel in channels.items() if not channel]
        if missing:
            raise ConfigError(
                f"topics {', '.join(missing)} have no slack.channel and slack.default_channel "
                "is not set: with a bot token every topic needs a channel"
            )
        sink: Sink = (
            WebApiSink(slack_client)
            if slack_client is not None
            else WebApiSink.with_token(token, base_url=slack.api_url, timeout=slack.timeout)
        )
        destinations = {topic_id: f"slack:{channel}" for topic_id, channel in channels.items()}
        return AlertSetup({"slack": sink}, destinations, names, settings, redactor)
    if webhook_url:
        sink = WebhookSink(webhook_url, timeout=slack.timeout)
        return AlertSetup(
            {"webhook": sink}, {t.id: "webhook" for t in enabled}, names, settings, redactor
        )
    sinks: dict[str, Sink] = {"console": ConsoleSink(console)}
    return AlertSetup(sinks, {t.id: "console" for t in enabled}, names, settings, redactor)


def _secret(value: object) -> str | None:
    return value.get_secret_value() if value is not None else None  # type: ignore[attr-defined]


def install_redaction(redactor: Redactor) -> None:
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(redactor))
