"""From the config to the sinks: which Slack (or the terminal) each topic's alerts go to."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console
from slack_sdk import WebClient
from sqlalchemy import Engine

from pipeline.config import Config
from pipeline.errors import ConfigError
from pipeline.topics import Topic

from .credentials import (
    slack_channel,
    slack_token,
    slack_webhook,
    token_problem,
    webhook_problem,
)
from .drain import DrainSettings, drain
from .records import DrainReport
from .redaction import RedactingFilter, Redactor
from .slack import ConsoleSink, Sink, WebApiSink, WebhookSink

log = logging.getLogger(__name__)


@dataclass
class AlertSetup:
    sinks: dict[str, Sink]
    destinations: dict[str, str]  # topic id -> "slack:#channel" | "webhook" | "console"
    topic_names: dict[str, str]
    settings: DrainSettings
    redactor: Redactor = field(default_factory=lambda: Redactor([]))
    # A Slack credential of the wrong form: its alerts are kept (pending) until it is fixed.
    problem: str | None = None
    # Where operations notices go ("slack:#ops", "webhook", "console"); None: not sent.
    ops_destination: str | None = None

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
    SLACK_BOT_TOKEN / SLACK_WEBHOOK_URL, else none: the terminal.

    A credential of the wrong form (see `token_problem`, `webhook_problem`) does not stop the
    caller's other work: the setup has no sink for it, its alerts stay pending, and `problem`
    says which key is wrong and how, never its value."""
    slack = config.slack
    token_key, token = slack_token(
        config, token=token, client_token=slack_client.token if slack_client else None
    )
    webhook_key, webhook_url = slack_webhook(config, url=webhook_url)
    settings = DrainSettings(
        digest_after=slack.digest_after,
        min_interval=slack.min_interval,
        max_attempts=slack.max_attempts,
        max_backoff=slack.max_backoff,
        lease=timedelta(seconds=max(60.0, 6 * slack.timeout)),
        backfill_alerts=config.backfill.alerts,
        web_url=config.web.base_url,
        rhythms={t.id: t.delivery for t in config.topics},
    )
    enabled = [t for t in topics if t.enabled]
    names = {t.id: t.name for t in topics}
    redactor = Redactor([token, webhook_url])
    channels = {t.id: slack_channel(config, t) for t in enabled}
    if token:
        missing = [topic_id for topic_id, channel in channels.items() if not channel]
        if missing:
            raise ConfigError(
                f"topics {', '.join(missing)} have no slack.channel and slack.default_channel "
                "is not set: with a bot token every topic needs a channel"
            )
        destinations = {topic_id: f"slack:{channel}" for topic_id, channel in channels.items()}
        wrong = token_problem(token)
        if wrong:
            setup = _unusable(f"{token_key}: {wrong}", destinations, names, settings, redactor)
            return _with_ops(setup, "slack", slack.ops_channel)
        if slack_client is None:
            warn_if_in_clear(slack.api_url)
        sink: Sink = (
            WebApiSink(slack_client)
            if slack_client is not None
            else WebApiSink.with_token(token, base_url=slack.api_url, timeout=slack.timeout)
        )
        setup = AlertSetup({"slack": sink}, destinations, names, settings, redactor)
        return _with_ops(setup, "slack", slack.ops_channel)
    if webhook_url:
        destinations = {t.id: "webhook" for t in enabled}
        wrong = webhook_problem(webhook_url, slack.api_url)
        if wrong:
            setup = _unusable(f"{webhook_key}: {wrong}", destinations, names, settings, redactor)
            return _with_ops(setup, "webhook", slack.ops_channel)
        sink = WebhookSink(webhook_url, timeout=slack.timeout)
        setup = AlertSetup({"webhook": sink}, destinations, names, settings, redactor)
        return _with_ops(setup, "webhook", slack.ops_channel)
    sinks: dict[str, Sink] = {"console": ConsoleSink(console)}
    setup = AlertSetup(sinks, {t.id: "console" for t in enabled}, names, settings, redactor)
    return _with_ops(setup, "console", slack.ops_channel)


def warn_if_in_clear(api_url: str) -> None:
    """A bot token sent over plain http can be read on the way; only this machine is spared the
    warning (a fake Slack in tests, a relay on loopback)."""
    parts = urlsplit(api_url)
    if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
        log.warning(
            "slack.api_url is plain http (%s://%s): the bot token travels unencrypted; use https",
            parts.scheme,
            parts.hostname,
        )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _with_ops(setup: AlertSetup, sink: str, ops_channel: str | None) -> AlertSetup:
    """Operations notices go where the alerts go: the ops channel with a bot token; the
    webhook's own channel or the terminal otherwise. None when `slack.ops_channel` is unset."""
    if ops_channel:
        setup.ops_destination = f"slack:{ops_channel}" if sink == "slack" else sink
    return setup


def _unusable(
    problem: str,
    destinations: dict[str, str],
    names: dict[str, str],
    settings: DrainSettings,
    redactor: Redactor,
) -> AlertSetup:
    problem += "; alerts wait in the outbox until it is fixed (the value is not shown)"
    return AlertSetup({}, destinations, names, settings, redactor, problem)


def install_redaction(redactor: Redactor) -> None:
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(redactor))
