"""Clicks on the alert buttons: check that Slack sent them, record them, show them on the message.

Slack signs every interactive request with the app's signing secret; `RequestCheck` verifies
it with slack_sdk's `SignatureVerifier`, refuses timestamps more than five minutes away, and
refuses a signature it has seen before (recent signatures are kept in the database, so a
replay is caught whichever process or API-server worker it reaches). A verified click becomes
labels (or a mute) on the alert's (topic, article), and the message is updated in place with a
line saying who did what. Web frameworks stay out of this module: `web/slack.py` wires it to
`POST /slack/interactions`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient
from sqlalchemy import Engine, delete, select

from pipeline.store import labels
from pipeline.store.database import insert_for
from pipeline.store.schema import AlertRow, SlackRequestRow

from .message import ACTIONS_BLOCK, BLOCK_LIMIT, FEEDBACK_BLOCK, escape
from .redaction import Redactor, client_logger

log = logging.getLogger(__name__)

MAX_AGE = 300  # seconds: Slack's own advice for refusing replays by timestamp
REQUESTS = SlackRequestRow.__table__
ACTIONS = {
    "newswatch_relevant": "relevant",
    "newswatch_not_relevant": "not_relevant",
    "newswatch_mute": "mute",
    "newswatch_open": "open",  # a link; Slack still tells the app it was clicked
}


class RequestCheck:
    """Is this request from Slack, fresh, and new? The secret stays inside (not in the repr)."""

    def __init__(self, signing_secret: str, engine: Engine) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self._engine = engine

    def __repr__(self) -> str:
        return "RequestCheck(signing_secret=[redacted])"

    def problem(self, body: bytes, headers: Mapping[str, str], now: datetime) -> str | None:
        """None when the request may be acted on, else why it may not (for the log)."""
        timestamp = headers.get("x-slack-request-timestamp")
        signature = headers.get("x-slack-signature")
        if not timestamp or not signature:
            return "unsigned (no X-Slack-Signature / X-Slack-Request-Timestamp)"
        try:
            age = now.timestamp() - int(timestamp)
        except ValueError:
            return "malformed timestamp"
        if abs(age) > MAX_AGE:
            return f"timestamp {age:.0f}s away from now (more than five minutes)"
        if not self._verifier.is_valid(body, timestamp, signature):
            return "signature does not match the signing secret"
        if not remember_signature(self._engine, signature, now):
            return "replayed (this signature was seen before)"
        return None


def remember_signature(engine: Engine, signature: str, now: datetime) -> bool:
    """Record a request's signature; False when it was already recorded (a replay). Entries
    older than the accepted age are dropped: a request that old is refused by timestamp."""
    with engine.begin() as connection:
        connection.execute(
            delete(REQUESTS).where(REQUESTS.c.received_at < now - timedelta(seconds=2 * MAX_AGE))
        )
        inserted = connection.execute(
            insert_for(connection, REQUESTS)
            .values(signature=signature, received_at=now)
            .on_conflict_do_nothing()
            .returning(REQUESTS.c.signature)
        ).first()
    return inserted is not None


@dataclass(frozen=True, slots=True)
class Click:
    """One press of a newswatch button, as Slack described it."""

    action: str  # "relevant", "not_relevant", "mute" or "open"
    alert_ids: tuple[int, ...]
    user: labels.Reviewer
    channel_id: str | None
    message_ts: str | None
    response_url: str | None
    message: dict[str, Any] = field(default_factory=dict)


def parse_click(body: bytes) -> Click | None:
    """The click in a `block_actions` request body (form-encoded `payload=`), or None for any
    other interaction or a button that is not ours."""
    try:
        payload = json.loads(parse_qs(body.decode("utf-8"))["payload"][0])
    except (KeyError, IndexError, ValueError, UnicodeDecodeError):
        return None
    return click_from(payload)


def click_from(payload: object) -> Click | None:
    """The click in an interaction payload (as posted to the Request URL, or as Socket Mode
    delivers it), or None for any other interaction or a button that is not ours."""
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return None
    action = next((a for a in payload.get("actions") or () if a.get("action_id") in ACTIONS), None)
    if action is None:
        return None
    user = payload.get("user") or {}
    container = payload.get("container") or {}
    value = str(action.get("value") or "")
    ids = tuple(int(part) for part in value.split(",") if part.strip().isdigit())
    return Click(
        action=ACTIONS[action["action_id"]],
        alert_ids=ids,
        user=labels.Reviewer(
            str(user.get("username") or user.get("name") or user.get("id") or "someone"),
            "slack",
            user.get("id"),
        ),
        channel_id=container.get("channel_id") or (payload.get("channel") or {}).get("id"),
        message_ts=container.get("message_ts") or (payload.get("message") or {}).get("ts"),
        response_url=payload.get("response_url"),
        message=payload.get("message") or {},
    )


@dataclass(frozen=True, slots=True)
class Subject:
    """What an alert was about: the topic, the article it showed and that article's story."""

    alert_id: int
    topic_id: str
    article_id: int
    story_id: int


def subjects(engine: Engine, click: Click) -> list[Subject]:
    """The alerts a click is about: named by the button, else (a digest too long to name them
    all) every alert sent as that message."""
    query = select(AlertRow.id, AlertRow.topic_id, AlertRow.article_id, AlertRow.story_id)
    if click.alert_ids:
        query = query.where(AlertRow.id.in_(click.alert_ids))
    elif click.channel_id and click.message_ts:
        query = query.where(
            AlertRow.slack_channel == click.channel_id, AlertRow.slack_ts == click.message_ts
        )
    else:
        return []
    with engine.connect() as connection:
        return [Subject(*row) for row in connection.execute(query.order_by(AlertRow.id))]


def record(engine: Engine, click: Click, now: datetime) -> list[Subject]:
    """Store what the click says about each of its alerts; returns them."""
    about = subjects(engine, click)
    for subject in about:
        if click.action == "mute":
            labels.mute_story(engine, subject.topic_id, subject.story_id, click.user, now)
        elif click.action in labels.LABEL_VALUES:
            labels.set_label(
                engine, subject.topic_id, subject.article_id, click.action, click.user, now
            )
    return about


def feedback_line(engine: Engine, about: list[Subject]) -> str:
    """What people have said about these alerts so far, as one mrkdwn line."""
    judged: list[labels.Label] = []
    muted: list[labels.Mute] = []
    for topic_id in dict.fromkeys(s.topic_id for s in about):
        mine = [s for s in about if s.topic_id == topic_id]
        judged += labels.labels_for(engine, topic_id, [s.article_id for s in mine]).values()
        muted += labels.mutes_for(engine, topic_id, [s.story_id for s in mine]).values()
    parts = []
    for value in labels.LABEL_VALUES:
        given = [j for j in judged if j.label == value]
        if not given:
            continue
        latest = max(given, key=lambda j: j.at)
        shown = value.replace("_", " ")
        if len(about) == 1:
            parts.append(f"Marked {shown} by {_who(latest.by)}")
        else:
            parts.append(f"{len(given)} of {len(about)} marked {shown} (last by {_who(latest.by)})")
    if muted:
        latest_mute = max(muted, key=lambda m: m.at)
        stories = len({s.story_id for s in about})
        what = "Story" if stories == 1 else f"{len(muted)} of {stories} stories"
        parts.append(f"{what} muted by {_who(latest_mute.by)}: no more follow-ups")
    return " · ".join(parts)


def _who(by: labels.Reviewer) -> str:
    # <@U123> is shown by Slack as the person's current @name; others by the name they gave.
    return f"<@{by.slack_id}>" if by.slack_id else escape(by.name)


def updated_blocks(message: dict[str, Any], line: str) -> list[dict[str, Any]]:
    """The message's blocks with the feedback line just above the buttons (replacing the
    previous one)."""
    blocks = [b for b in message.get("blocks") or () if b.get("block_id") != FEEDBACK_BLOCK]
    if not line:
        return blocks
    status = {
        "type": "context",
        "block_id": FEEDBACK_BLOCK,
        "elements": [{"type": "mrkdwn", "text": line[:2000]}],
    }
    at = next((i for i, b in enumerate(blocks) if b.get("block_id") == ACTIONS_BLOCK), len(blocks))
    blocks.insert(at, status)
    return blocks[:BLOCK_LIMIT]


class MessageUpdater:
    """Edits the message a click came from: chat.update with the bot token, else (no token:
    an app that posts through a webhook) the click's response_url."""

    def __init__(
        self, token: str | None, *, base_url: str = "https://slack.com/api/", timeout: float = 10
    ) -> None:
        self._redact = Redactor([token])
        self._client = (
            WebClient(
                token=token,
                base_url=base_url,
                timeout=int(max(1, timeout)),
                logger=client_logger("update", self._redact),
            )
            if token
            else None
        )
        self._timeout = int(max(1, timeout))

    def __repr__(self) -> str:
        return f"MessageUpdater(token={'[redacted]' if self._client else None})"

    def update(self, click: Click, blocks: list[dict[str, Any]], ids: list[int]) -> str | None:
        """Replace the message's blocks; returns an error text, or None when it worked."""
        text = str(click.message.get("text") or "newswatch alert")
        metadata = {"event_type": "newswatch_alert", "event_payload": {"alert_ids": ids}}
        try:
            if self._client is not None and click.channel_id and click.message_ts:
                self._client.chat_update(
                    channel=click.channel_id,
                    ts=click.message_ts,
                    text=text,
                    blocks=blocks,
                    metadata=metadata,
                )
                return None
            if click.response_url:
                response = WebhookClient(click.response_url, timeout=self._timeout).send(
                    text=text, blocks=blocks, replace_original=True
                )
                return None if response.status_code == 200 else f"HTTP {response.status_code}"
        except SlackApiError as error:
            return self._redact(f"Slack error: {error.response.get('error')}")
        except OSError as error:
            return self._redact(f"network error: {error}")
        return "no bot token and no response_url: the message cannot be updated"


def handle_click(engine: Engine, updater: MessageUpdater, click: Click, now: datetime) -> str:
    """Record a verified click and show it on its message; returns the feedback line."""
    if click.action == "open":
        return ""
    about = record(engine, click, now)
    if not about:
        log.warning("a %s click named no known alert (%s)", click.action, click.alert_ids)
        return ""
    line = feedback_line(engine, about)
    error = updater.update(click, updated_blocks(click.message, line), [s.alert_id for s in about])
    if error:
        log.warning("recorded %s, but could not update the Slack message: %s", click.action, error)
    return line
