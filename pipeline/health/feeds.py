"""Judging one feed: failing, stuck, stale or moved, each against the feed's own rhythm.

- failing: `failing_after` failed fetches in a row, since the first of them.
- stuck: the last fetches worked but brought the same thing (304 Not Modified, or a body
  identical to the last one) for `stuck_factor` typical gaps, since the body last changed.
- stale: nothing published for `stale_factor` typical gaps, since its latest publication.
- moved: a permanent redirect was followed; the config still names the old URL.

Stale and stuck are never called before `min_polls` of the feed's own poll intervals (a feed
polled hourly that publishes every minute is not stale after five quiet minutes). A failing
feed is not also called stale or stuck (the failure is the cause); a stuck one is not also
stale. A feed with too few publications to know its rhythm is "learning", never stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..config import FeedConfig, HealthConfig
from ..redact import without_userinfo
from ..store.health import FeedState
from .records import FeedHealth, Problem, problem
from .rhythm import every, span, typical_gap

NOT_MODIFIED = 304
MAX_ERROR = 160


@dataclass(frozen=True, slots=True)
class _Feed:
    """What every judgement of one feed needs."""

    name: str
    gap: timedelta | None  # its rhythm, None while learning
    poll: timedelta
    settings: HealthConfig
    now: datetime
    topic_ids: tuple[str, ...]

    def overdue(self, since: datetime, factor: float) -> timedelta | None:
        """How long since `since`, if that is more than `factor` typical gaps (and the poll
        floor); None if not, or while the rhythm is unknown."""
        if self.gap is None:
            return None
        elapsed = self.now - since
        floor = self.poll * self.settings.min_polls
        return elapsed if elapsed > max(self.gap * factor, floor) else None


def judge_feed(
    feed: FeedConfig,
    state: FeedState | None,
    times: Sequence[datetime],
    topic_ids: tuple[str, ...],
    settings: HealthConfig,
    now: datetime,
) -> FeedHealth:
    poll = timedelta(seconds=feed.poll_interval)
    if state is None or state.last_fetch_at is None:
        return _record(feed, state, "new", "never fetched yet", None, None, poll, times)
    gap = typical_gap(times, settings.min_history)
    judging = _Feed(feed.name, gap, poll, settings, now, topic_ids)
    cause = _failing(state, judging) or _stuck(state, judging) or _stale(times, judging)
    problems = tuple(p for p in (cause, _moved(state)) if p is not None)
    if problems:
        first = problems[0]
        return _record(
            feed, state, first.kind, first.reason, first.since, gap, poll, times, problems
        )
    if gap is None:
        reason = f"{len(times)} publication(s) so far; its rhythm needs {settings.min_history}"
        return _record(feed, state, "learning", reason, None, None, poll, times)
    reason = f"{every(gap)}; latest {span(now - times[0])} ago"
    return _record(feed, state, "ok", reason, None, gap, poll, times)


def _record(
    feed: FeedConfig,
    state: FeedState | None,
    status: str,
    reason: str,
    since: datetime | None,
    gap: timedelta | None,
    poll: timedelta,
    times: Sequence[datetime],
    problems: tuple[Problem, ...] = (),
) -> FeedHealth:
    return FeedHealth(
        name=feed.name,
        url=without_userinfo(state.url if state else feed.url),
        state=status,
        reason=reason,
        since=since,
        typical_gap=gap,
        poll_interval=poll,
        last_item_at=times[0] if times else None,
        last_new_at=state.last_new_at if state else None,
        last_fetch_at=state.last_fetch_at if state else None,
        body_changed_at=state.body_changed_at if state else None,
        consecutive_failures=state.consecutive_failures if state else 0,
        problems=problems,
    )


def _failing(state: FeedState, feed: _Feed) -> Problem | None:
    if state.consecutive_failures < feed.settings.failing_after:
        return None
    since = state.failing_since or state.last_fetch_at
    assert since is not None  # a feed with failures has been fetched
    error = " ".join((state.last_error or state.last_status or "unknown error").split())
    if len(error) > MAX_ERROR:
        error = error[: MAX_ERROR - 1] + "…"
    failures = state.consecutive_failures
    times = "once" if failures == 1 else f"{failures} times in a row"
    reason = f"failed {times} (last: {error})"
    return problem("failing", "feed", feed.name, reason, since, topic_ids=feed.topic_ids)


def _stuck(state: FeedState, feed: _Feed) -> Problem | None:
    changed = state.body_changed_at
    if changed is None or state.last_success_at is None:
        return None
    if state.last_success_at <= changed:  # not fetched since it last changed: no evidence
        return None
    unchanged = feed.overdue(changed, feed.settings.stuck_factor)
    if unchanged is None or feed.gap is None:
        return None
    if state.last_http_status == NOT_MODIFIED:
        answer = "answers 304 Not Modified"
    elif state.last_status == "not_modified":  # a local file, by its size and modification time
        answer = "its file has not changed"
    else:
        answer = "serves the same document"
    reason = f"{answer}: unchanged for {span(unchanged)} (new items {every(feed.gap)})"
    return problem("stuck", "feed", feed.name, reason, changed, topic_ids=feed.topic_ids)


def _stale(times: Sequence[datetime], feed: _Feed) -> Problem | None:
    if not times:
        return None
    quiet = feed.overdue(times[0], feed.settings.stale_factor)
    if quiet is None or feed.gap is None:
        return None
    reason = f"nothing new for {span(quiet)} ({every(feed.gap)})"
    return problem("stale", "feed", feed.name, reason, times[0], topic_ids=feed.topic_ids)


def _moved(state: FeedState) -> Problem | None:
    if state.moved_at is None or state.moved_from is None:
        return None
    old, new = without_userinfo(state.moved_from), without_userinfo(state.url)
    reason = f"moved permanently from {old} to {new}; set its url to the new one in the config"
    return problem("moved", "feed", state.name, reason, state.moved_at)
