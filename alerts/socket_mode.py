"""The buttons' clicks over Slack's Socket Mode: newswatch opens a WebSocket to Slack, so Slack
needs no public Request URL to reach it (a laptop, or a server behind a firewall).

The connection is opened with the app-level token (`xapp-...`, scope `connections:write`)
through slack_sdk's own Socket Mode client, and that token is what authenticates what arrives
on it: there is no per-request signature to check. Each envelope is acknowledged as soon as it
arrives (Slack wants it within three seconds and redelivers one that is not), then a click is
recorded and shown on its message exactly as one posted to `POST /slack/interactions`. A
redelivered click changes nothing more: labels and mutes are one per (topic, article/story).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from slack_sdk import WebClient
from slack_sdk.socket_mode import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from sqlalchemy import Engine

from .interactions import MessageUpdater, click_from, handle_click
from .redaction import Redactor, client_logger

log = logging.getLogger(__name__)


class ClickListener:
    """A Socket Mode connection that turns button clicks into labels and mutes."""

    def __init__(
        self,
        engine: Engine,
        updater: MessageUpdater,
        app_token: str,
        *,
        api_url: str = "https://slack.com/api/",
        timeout: float = 10,
    ) -> None:
        self._engine = engine
        self._updater = updater
        redact = Redactor([app_token])
        self._client = SocketModeClient(
            app_token=app_token,
            logger=client_logger("socket_mode", redact),
            web_client=WebClient(
                base_url=api_url,
                timeout=int(max(1, timeout)),
                logger=client_logger("socket_mode_web", redact),
            ),
        )
        self._client.socket_mode_request_listeners.append(self._on_request)

    def __repr__(self) -> str:
        return "ClickListener(app_token=[redacted])"

    def connect(self) -> None:
        """Open the connection (slack_sdk reconnects by itself when Slack drops it)."""
        self._client.connect()

    def close(self) -> None:
        self._client.close()

    def _on_request(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        if request.type != "interactive":
            return
        click = click_from(request.payload)
        if click is None:
            return
        # On slack_sdk's worker thread: nobody is waiting, so a failure is logged, not raised.
        try:
            handle_click(self._engine, self._updater, click, datetime.now(UTC))
        except Exception:
            log.exception("could not record a %s click from Slack (Socket Mode)", click.action)
