"""Where alert messages go: Slack's Web API (bot token), an incoming webhook, or the terminal.

Each sink turns one message into a `Delivery`: sent, retry later, or failed for good with a
message that says what to fix. Secrets never reach a log, an error or a repr: the sinks keep
them to themselves and every error text passes through `Redactor`.
"""

from __future__ import annotations

import logging
import re
import socket
import ssl
from collections.abc import Iterable
from datetime import datetime, timedelta
from http.client import HTTPException
from typing import Any, Protocol
from urllib.error import URLError

from rich.console import Console
from rich.text import Text
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from pipeline.text import printable

from .records import Delivery, Refusal, SlackMessage
from .redaction import Redactor, client_logger

log = logging.getLogger(__name__)

# Errors no retry will fix, and what the user should do about each.
PERMANENT_ERRORS = {
    "invalid_auth": "Slack rejected the bot token: check slack.token or SLACK_BOT_TOKEN",
    "not_authed": "no bot token was sent: check slack.token or SLACK_BOT_TOKEN",
    "account_inactive": "the bot's Slack account is deactivated: reinstall the Slack app",
    "token_revoked": "the bot token was revoked: reinstall the Slack app and update the token",
    "token_expired": "the bot token expired: issue a new one and update slack.token",
    "missing_scope": "the bot token lacks the chat:write scope: add it and reinstall the app",
    "channel_not_found": "channel {channel} does not exist or the bot cannot see it: "
    "check the topic's slack.channel",
    "not_in_channel": "the bot is not in {channel}: invite it (/invite @your-bot)",
    "is_archived": "channel {channel} is archived: unarchive it or pick another channel",
    "channel_is_archived": "channel {channel} is archived: unarchive it or pick another channel",
    "restricted_action": "the workspace does not let the bot post in {channel}",
    "invalid_blocks": "Slack rejected the message layout (a newswatch bug; please report it)",
    "invalid_arguments": "Slack rejected the message (a newswatch bug; please report it)",
    "msg_too_long": "Slack says the message is too long (a newswatch bug; please report it)",
}
# Of those, the errors every other message would meet too: through this token, or in this channel.
SINK_WIDE = {
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "missing_scope",
}
CHANNEL_WIDE = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "channel_is_archived",
    "restricted_action",
}
WEBHOOK_PERMANENT = {
    400: "Slack rejected the webhook payload (a newswatch bug; please report it)",
    403: "the webhook may not post here (action_prohibited / invalid_token): create a new one",
    404: "the webhook URL no longer exists: create a new incoming webhook, update "
    "slack.webhook_url or SLACK_WEBHOOK_URL",
    410: "the webhook's channel is archived: create a webhook for another channel",
}
_BOLD = re.compile(r"\*([^*`\n]+)\*")  # not across `code`, where * is literal
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")
# Timeouts, refused or reset connections, DNS failures (URLError and TimeoutError are OSErrors).
_NETWORK_ERRORS = (OSError, HTTPException)
HISTORY_SCOPE = (
    "the bot token lacks the channels:history (or groups:history) scope needed to check for "
    "messages already posted: add it and reinstall the app"
)


class HistoryUnavailable(Exception):
    """A channel's history could not be read; the message is safe to show (no secrets).
    `refuses` says, as for a `Delivery`, whether other messages would meet the same."""

    def __init__(self, message: str, refuses: Refusal = "message") -> None:
        super().__init__(message)
        self.refuses = refuses


def refusal(code: str | None) -> Refusal:
    """What a permanent Slack error says of the next messages (see `Delivery.refuses`)."""
    return "sink" if code in SINK_WIDE else "channel" if code in CHANNEL_WIDE else "message"


def describe_network_error(error: BaseException) -> tuple[str, bool]:
    """(what went wrong, in a few words; whether Slack may have received the request). Only the
    kind of failure is named: urllib's messages can carry the URL, which for a webhook is the
    secret."""
    reason = error.reason if isinstance(error, URLError) else error
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused", False
    if isinstance(reason, socket.gaierror):
        return "the Slack host name could not be resolved", False
    if isinstance(reason, ssl.SSLError):
        return f"TLS error ({reason.reason or 'handshake failed'})", False
    if isinstance(reason, TimeoutError):
        return "timed out waiting for Slack", True
    if isinstance(reason, ConnectionResetError | HTTPException):
        return "the connection was closed before Slack answered", True
    if isinstance(reason, OSError) and reason.strerror:
        return f"network error ({reason.strerror})", True
    return f"network error ({type(reason).__name__})", True


# Tried only where a run of scheme characters starts, so a long word is read once.
_URL = re.compile(r"(?<![\w+.-])[\w+.-]+://\S+")


def _unexpected(error: Exception, redact: Redactor) -> str:
    """An error slack_sdk raised before or instead of a request (such as "Invalid URL
    detected: <the webhook URL>"), with the secrets and any URL taken out."""
    return _URL.sub("[url]", redact(f"{type(error).__name__}: {error}"))


class Sink(Protocol):
    name: str
    can_reconcile: bool
    paced: bool  # keep `min_interval` between messages to one channel (Slack's, not the terminal)

    def send(self, channel: str | None, message: SlackMessage) -> Delivery: ...

    def reply(self, channel: str | None, thread_ts: str | None, message: SlackMessage) -> Delivery:
        """A reply in a sent message's thread; a sink without threads declines (outcome
        "failed"), because a follow-up must never become a new top-level message."""
        ...

    def find_sent(
        self, channel: str | None, alert_ids: Iterable[int], since: datetime, kind: str = "alert"
    ) -> dict[int, tuple[str, str]]:
        """For each of these alerts (or notices, by `kind`) found in the channel's history since
        `since`, the (channel id, ts) of the message whose metadata names it. Raises
        `HistoryUnavailable`."""
        ...


class WebApiSink:
    """chat.postMessage with a bot token. It can look back through a channel's history for a
    message carrying an alert's id, which is what makes crash recovery exact."""

    name = "slack"
    can_reconcile = True
    paced = True

    def __init__(self, client: WebClient) -> None:
        """Post with the settings of `client` (Airflow's Slack hook builds one from its
        connection: token, base URL, proxy, timeout) through a client of our own."""
        self._redact = Redactor([client.token])
        self._client = WebClient(
            token=client.token,
            base_url=client.base_url,
            timeout=client.timeout,
            ssl=client.ssl,
            proxy=client.proxy,
            headers=dict(client.headers),
            # slack_sdk would otherwise retry a reset connection by itself, and a request Slack
            # had already accepted would be posted twice. Retries are the outbox's job.
            retry_handlers=[],
            logger=client_logger("web", self._redact),
        )
        self._channel_ids: dict[str, str] = {}

    @classmethod
    def with_token(cls, token: str, *, base_url: str, timeout: float) -> WebApiSink:
        # slack_sdk logs the proxy it reads from HTTPS_PROXY as the client is built: scrubbed.
        logger = client_logger("web", Redactor([token]))
        return cls(
            WebClient(token=token, base_url=base_url, timeout=int(max(1, timeout)), logger=logger)
        )

    def __repr__(self) -> str:
        return f"WebApiSink(base_url={self._client.base_url!r}, token=[redacted])"

    def send(self, channel: str | None, message: SlackMessage) -> Delivery:
        return self._post(channel, message)

    def reply(self, channel: str | None, thread_ts: str | None, message: SlackMessage) -> Delivery:
        if not thread_ts:
            return Delivery("failed", error="the alert has no Slack message to reply to")
        return self._post(channel, message, thread_ts=thread_ts)

    def _post(self, channel: str | None, message: SlackMessage, **extra: Any) -> Delivery:
        try:
            response = self._client.chat_postMessage(
                channel=channel or "",
                text=message.text,
                blocks=message.blocks,
                metadata=message.metadata,
                unfurl_links=False,
                unfurl_media=False,
                **extra,
            )
        except SlackApiError as error:
            return self._classify(error, channel)
        except _NETWORK_ERRORS as error:
            problem, ambiguous = describe_network_error(error)
            return Delivery("retry", error=problem, ambiguous=ambiguous)
        except Exception as error:  # slack_sdk's own (SlackRequestError, ...): never a traceback
            problem = f"could not send ({_unexpected(error, self._redact)})"
            return Delivery("retry", error=problem, ambiguous=True)
        posted_in = response.get("channel")
        if posted_in and channel:
            self._channel_ids[channel] = posted_in
        return Delivery("sent", channel=posted_in, ts=response.get("ts"))

    def _classify(self, error: SlackApiError, channel: str | None) -> Delivery:
        status = error.response.status_code
        code = error.response.get("error") if isinstance(error.response.data, dict) else None
        if status == 429 or code == "ratelimited":
            retry_after = float(error.response.headers.get("Retry-After", "1") or 1)
            return Delivery("retry", error="rate limited by Slack", retry_after=retry_after)
        if code in PERMANENT_ERRORS:
            error_text = PERMANENT_ERRORS[code].format(channel=channel)
            return Delivery("failed", error=error_text, refuses=refusal(code))
        if status >= 500:
            return Delivery("retry", error=f"Slack answered HTTP {status}", ambiguous=True)
        return Delivery("retry", error=self._redact(f"Slack error: {code or status}"))

    def find_sent(
        self, channel: str | None, alert_ids: Iterable[int], since: datetime, kind: str = "alert"
    ) -> dict[int, tuple[str, str]]:
        """Each of these alerts (notices) that a message in the channel's history names in its
        metadata, with that message's (channel id, ts). A message is evidence only for the ids
        it carries: a digest found for one alert says nothing about alerts added since."""
        try:
            return self._find_sent(channel, set(alert_ids), since, kind)
        except SlackApiError as error:
            code = error.response.get("error") if isinstance(error.response.data, dict) else None
            if code == "missing_scope":
                raise HistoryUnavailable(HISTORY_SCOPE) from None
            if code in PERMANENT_ERRORS:
                problem = PERMANENT_ERRORS[code].format(channel=channel)
                raise HistoryUnavailable(problem, refusal(code)) from None
            status = error.response.status_code
            raise HistoryUnavailable(f"Slack error: {code or f'HTTP {status}'}") from None
        except _NETWORK_ERRORS as error:
            raise HistoryUnavailable(describe_network_error(error)[0]) from None
        except Exception as error:
            raise HistoryUnavailable(_unexpected(error, self._redact)) from None

    def _find_sent(
        self, channel: str | None, wanted: set[int], since: datetime, kind: str
    ) -> dict[int, tuple[str, str]]:
        found: dict[int, tuple[str, str]] = {}
        channel_id = self._channel_id(channel)
        if channel_id is None:
            return found
        oldest = (since - timedelta(minutes=5)).timestamp()
        cursor = None
        for _ in range(10):  # at most 2,000 messages back
            response = self._client.conversations_history(
                channel=channel_id,
                oldest=f"{oldest:.6f}",
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
            for message in response.get("messages", []):
                metadata = message.get("metadata") or {}
                if metadata.get("event_type") != f"newswatch_{kind}":
                    continue
                carried = (metadata.get("event_payload") or {}).get(f"{kind}_ids") or []
                for alert_id in wanted.intersection(carried):
                    found.setdefault(alert_id, (channel_id, message["ts"]))
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor or len(found) == len(wanted):
                return found
        return found

    def _channel_id(self, channel: str | None) -> str | None:
        if not channel:
            return None
        if _CHANNEL_ID.match(channel):
            return channel
        if channel in self._channel_ids:
            return self._channel_ids[channel]
        name = channel.lstrip("#")
        cursor = None
        for _ in range(20):
            response = self._client.conversations_list(
                types="public_channel,private_channel",
                limit=200,
                cursor=cursor,
                exclude_archived=True,
            )
            for found in response.get("channels", []):
                if found.get("name") == name:
                    self._channel_ids[channel] = found["id"]
                    return str(found["id"])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
        return None


class WebhookSink:
    """An incoming webhook: one fixed channel, and no way to read history back, so a crash in
    the moment between Slack's reply and the outbox update can repeat one message."""

    name = "webhook"
    can_reconcile = False
    paced = True

    def __init__(self, url: str, *, timeout: float) -> None:
        self._redact = Redactor([url])
        self._client = WebhookClient(
            url,
            timeout=int(max(1, timeout)),
            retry_handlers=[],
            logger=client_logger("webhook", self._redact),
        )

    def __repr__(self) -> str:
        return "WebhookSink(url=[redacted])"

    def send(self, channel: str | None, message: SlackMessage) -> Delivery:
        try:
            response = self._client.send(
                text=message.text, blocks=message.blocks, unfurl_links=False, unfurl_media=False
            )
        except _NETWORK_ERRORS as error:
            problem, ambiguous = describe_network_error(error)
            return Delivery("retry", error=problem, ambiguous=ambiguous)
        except Exception as error:  # slack_sdk's own (SlackRequestError, ...): never a traceback
            problem = f"could not send ({_unexpected(error, self._redact)})"
            return Delivery("retry", error=problem, ambiguous=True)
        status = response.status_code
        if status == 200:
            return Delivery("sent")
        if status == 429:
            retry_after = float(response.headers.get("Retry-After", ["1"])[0] or 1)
            return Delivery("retry", error="rate limited by Slack", retry_after=retry_after)
        if status in WEBHOOK_PERMANENT:
            body = self._redact(str(response.body))[:100]
            problem = f"{WEBHOOK_PERMANENT[status]} (HTTP {status}: {body})"
            # A webhook is one channel: only a bad payload (400) is this message's own fault.
            return Delivery("failed", error=problem, refuses="message" if status == 400 else "sink")
        return Delivery("retry", error=f"webhook answered HTTP {status}", ambiguous=status >= 500)

    def reply(self, channel: str | None, thread_ts: str | None, message: SlackMessage) -> Delivery:
        return Delivery("failed", error="an incoming webhook cannot reply in a thread")

    def find_sent(
        self, channel: str | None, alert_ids: Iterable[int], since: datetime, kind: str = "alert"
    ) -> dict[int, tuple[str, str]]:
        return {}


class ConsoleSink:
    """Prints alerts in the terminal: the example's destination, and any setup without Slack.
    Not paced: a terminal has no rate limit."""

    name = "console"
    can_reconcile = False
    paced = False

    def __init__(self, console: Console | None = None) -> None:
        self._console = console or Console()

    def send(self, channel: str | None, message: SlackMessage) -> Delivery:
        self._console.print(render_for_terminal(message), soft_wrap=True)
        return Delivery("sent")

    def reply(self, channel: str | None, thread_ts: str | None, message: SlackMessage) -> Delivery:
        return self.send(channel, message)

    def find_sent(
        self, channel: str | None, alert_ids: Iterable[int], since: datetime, kind: str = "alert"
    ) -> dict[int, tuple[str, str]]:
        return {}


def render_for_terminal(message: SlackMessage) -> Text:
    """The message's blocks as terminal text: Slack escapes undone, *bold* shown bold, and
    everything else literal (a `Text`, never rich markup, so feed text cannot style or link)."""
    rendered = Text("─" * 60)
    for block in message.blocks:
        texts: list[Any] = []
        if block["type"] in ("header", "section"):
            texts = [block["text"]["text"]]
        elif block["type"] == "context":
            texts = [e["text"] for e in block["elements"]]
        for text in texts:
            line = printable(_from_mrkdwn(text))
            rendered.append("\n")
            style = "bold" if block["type"] == "header" else ""
            last = 0
            for bold in _BOLD.finditer(line):
                rendered.append(line[last : bold.start()], style)
                rendered.append(bold.group(1), "bold")
                last = bold.end()
            rendered.append(line[last:], style)
    return rendered


def _from_mrkdwn(text: str) -> str:
    text = re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", r"\1", text)
    text = re.sub(r"<([^|>]+)\|([^>]*)>", r"\2 (\1)", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
