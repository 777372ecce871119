"""What a health check finds: a record per feed and per topic, and the problems among them.

`Problem.key` is stable for as long as an episode lasts (its `since` does not move), so a
caller that tells people about problems can tell them once per episode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Problem:
    kind: str  # "stale" | "stuck" | "failing" | "moved" | "silent"
    subject_kind: str  # "feed" | "topic"
    subject: str  # feed name or topic id
    reason: str  # one line for people, e.g. "nothing new for 3d 4h (usually every 6h)"
    since: datetime  # UTC, start of this episode
    key: str  # stable per episode: f"{kind}:{subject_kind}:{subject}:{since:%Y-%m-%dT%H:%M}"
    hint: str | None = None
    # For a stale, stuck or failing feed: topics whose most recent match came from this feed.
    topic_ids: tuple[str, ...] = ()


def problem(
    kind: str,
    subject_kind: str,
    subject: str,
    reason: str,
    since: datetime,
    *,
    hint: str | None = None,
    topic_ids: tuple[str, ...] = (),
) -> Problem:
    """A `Problem` with its episode key made from the rest."""
    key = f"{kind}:{subject_kind}:{subject}:{since:%Y-%m-%dT%H:%M}"
    return Problem(kind, subject_kind, subject, reason, since, key, hint, topic_ids)


@dataclass(frozen=True)
class FeedHealth:
    """One configured feed as the check saw it.

    `state` is the most pressing of its problems (failing, stuck, stale, moved), else "ok",
    "learning" (too few publications yet to know its rhythm) or "new" (never fetched).
    """

    name: str
    url: str
    state: str
    reason: str
    since: datetime | None
    typical_gap: timedelta | None
    poll_interval: timedelta
    last_item_at: datetime | None  # latest publication (or first-seen) time
    last_new_at: datetime | None  # last fetch that stored something new
    last_fetch_at: datetime | None
    body_changed_at: datetime | None
    consecutive_failures: int
    problems: tuple[Problem, ...] = ()


@dataclass(frozen=True)
class TopicHealth:
    """One enabled topic: "ok", "learning" (too few matches yet) or "silent"."""

    topic_id: str
    name: str
    state: str
    reason: str
    since: datetime | None
    typical_gap: timedelta | None
    last_match_at: datetime | None  # publication time of its latest match
    query_changed_at: datetime | None
    hint: str | None = None


@dataclass(frozen=True)
class HealthReport:
    checked_at: datetime
    problems: tuple[Problem, ...]
    feeds: tuple[FeedHealth, ...]
    topics: tuple[TopicHealth, ...]

    @property
    def healthy(self) -> bool:
        return not self.problems
