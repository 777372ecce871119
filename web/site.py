"""What the web app serves from: the config, the database, the topics, and its secrets.

Opened once per process (by `newswatch serve` before it listens, or by the Airflow plugin on
the first request) and kept for the app's life.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine

from alerts.credentials import slack_token
from alerts.interactions import MessageUpdater, RequestCheck
from alerts.socket_mode import ClickListener
from pipeline import store
from pipeline.config import (
    Config,
    app_token_problem,
    compile_topics,
    load_config,
    secret_value,
    signing_secret_problem,
)
from pipeline.config import database_url as resolve_database_url
from pipeline.errors import ConfigError, NewswatchError
from pipeline.topics import Topic


@dataclass
class Site:
    config: Config
    engine: Engine
    topics: dict[str, Topic]
    slack_check: RequestCheck | None  # None: no signing secret, so every click is refused
    updater: MessageUpdater
    token: str | None  # when set, the pages need it (a login cookie or a Bearer header)
    user_header: str | None  # trusted header naming the user (set by an auth proxy)
    app_token: str | None = None  # Slack's app-level token, for Socket Mode

    def __repr__(self) -> str:
        return f"Site(database={self.engine.url!r}, topics={list(self.topics)}, token=[redacted])"

    def close(self) -> None:
        self.engine.dispose()


def open_site(config_path: str | Path | None = None, database_url: str | None = None) -> Site:
    """Load the config (NEWSWATCH_CONFIG when no path is given) and open the database."""
    config = load_config(config_path).config
    engine = store.open_database(resolve_database_url(config, database_url))
    slack = config.slack
    signing_secret = secret_value(slack.signing_secret) or os.environ.get("SLACK_SIGNING_SECRET")
    _, token = slack_token(config)
    web_token = secret_value(config.web.token) or os.environ.get("NEWSWATCH_WEB_TOKEN") or None
    if web_token is not None and len(web_token) < 12:
        raise ConfigError("NEWSWATCH_WEB_TOKEN: expected at least 12 characters")
    app_token = secret_value(slack.app_token) or os.environ.get("SLACK_APP_TOKEN") or None
    # The config's own values were checked at load; the environment's are checked here.
    for name, value, problem in (
        ("SLACK_SIGNING_SECRET", signing_secret, signing_secret_problem),
        ("SLACK_APP_TOKEN", app_token, app_token_problem),
    ):
        if value and problem(value):
            raise ConfigError(f"{name}: {problem(value)} (the value is not shown)")
    return Site(
        config=config,
        engine=engine,
        topics={t.id: t for t in compile_topics(config)},
        slack_check=RequestCheck(signing_secret, engine) if signing_secret else None,
        updater=MessageUpdater(token, base_url=slack.api_url, timeout=slack.timeout),
        token=web_token,
        user_header=config.web.user_header,
        app_token=app_token,
    )


def listen_over_socket_mode(site: Site) -> ClickListener:
    """The buttons' clicks over Slack's Socket Mode, connected (see `alerts.socket_mode`)."""
    if site.app_token is None:
        raise ConfigError(
            "Socket Mode needs slack.app_token or SLACK_APP_TOKEN (an app-level token, xapp-...)"
        )
    slack = site.config.slack
    listener = ClickListener(
        site.engine, site.updater, site.app_token, api_url=slack.api_url, timeout=slack.timeout
    )
    try:
        listener.connect()
    except SlackApiError as error:
        listener.close()
        raise NewswatchError(
            f"Socket Mode: Slack refused to open a connection: {error.response.get('error')}"
        ) from None
    except OSError as error:
        listener.close()
        where = slack.api_url
        raise NewswatchError(f"Socket Mode: cannot reach Slack at {where}: {error}") from None
    return listener
