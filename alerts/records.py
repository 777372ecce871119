"""Records passed between the outbox, the renderer and the sinks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

# Whom a permanent failure concerns: this message only, every message to its channel, or
# every message through its sink (see Delivery.refuses).
Refusal = Literal["message", "channel", "sink"]


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert owed, with what its message needs to say."""

    id: int
    topic_id: str
    topic_name: str
    destination: str
    attempts: int  # including the attempt in progress once claimed
    origin: str
    created_at: datetime
    title: str
    url: str | None
    feed_name: str
    published_at: datetime
    published_at_missing: bool
    score: float
    explanation: dict[str, Any]
    also_reported_by: tuple[dict[str, Any], ...] = ()  # other outlets' copies: feed, title, url
    delivery: str = "immediate"  # or "digest" (its topic's scheduled digest) or "held" (quiet)
    slack_channel: str | None = None  # where it was posted, once sent
    slack_ts: str | None = None


@dataclass(frozen=True, slots=True)
class SlackMessage:
    text: str  # the plain fallback: notifications, screen readers, old clients
    blocks: list[dict[str, Any]]
    alert_ids: tuple[int, ...] = ()  # or, for kind "notice", the notices' ids
    kind: str = "alert"  # "alert" or "notice": which outbox table the ids are in

    @property
    def metadata(self) -> dict[str, Any]:
        """Slack message metadata naming the alerts (or notices), so a drain that died after
        posting can find its message in the channel's history instead of posting it again."""
        return {
            "event_type": f"newswatch_{self.kind}",
            "event_payload": {f"{self.kind}_ids": list(self.alert_ids)},
        }


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a sink made of one message."""

    outcome: Literal["sent", "retry", "failed"]
    channel: str | None = None
    ts: str | None = None
    error: str | None = None
    retry_after: float | None = None
    ambiguous: bool = False  # the message may have arrived (timeout, reset): reconcile first
    # What a "failed" says of the next messages: they would fail alike in this channel (the bot
    # is not in it) or through this sink (the token is rejected), so the drain keeps them.
    refuses: Refusal = "message"


@dataclass(slots=True)
class DrainReport:
    sent: int = 0
    digests: int = 0
    reconciled: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0
    follow_ups: int = 0
    errors: list[str] = field(default_factory=list)
