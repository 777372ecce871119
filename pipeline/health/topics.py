"""Judging one topic: silent when its matches stopped, measured against its own history.

A topic with at least `min_history` matches has a rhythm: the median gap between the
publication times of its latest matches. It is silent when nothing has matched for
`silent_factor` of those gaps (and at least `min_silence`), since its latest match. The hint
says what likely happened: the feeds its matches came from are stale, stuck or failing, or its
query was changed after its last match.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from ..config import HealthConfig, TopicConfig
from ..store.health import RecentMatch
from .records import FeedHealth, Problem, TopicHealth, problem
from .rhythm import every, span, typical_gap

_LIST_REFERENCE = re.compile(r"@([A-Za-z0-9_-]+)")
TROUBLED = ("failing", "stuck", "stale")


def query_fingerprint(topic: TopicConfig, term_lists: Mapping[str, Sequence[str]]) -> str:
    """What decides what a topic matches: its query, exclusion, threshold and the term lists
    they name. Editing its name or channel changes nothing here."""
    text = f"{topic.query} {topic.exclude or ''}"
    lists = {name: list(term_lists.get(name, ())) for name in sorted(_LIST_REFERENCE.findall(text))}
    what = {
        "query": " ".join(topic.query.split()),
        "exclude": " ".join((topic.exclude or "").split()),
        "threshold": topic.threshold,
        "lists": lists,
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def judge_topic(
    topic: TopicConfig,
    matches: Sequence[RecentMatch],
    query_changed_at: datetime | None,
    feeds: Mapping[int, FeedHealth],
    settings: HealthConfig,
    now: datetime,
) -> tuple[TopicHealth, Problem | None]:
    times = [m.published_at for m in matches]
    gap = typical_gap(times, settings.min_history)
    latest = max(times, default=None)
    if gap is None or latest is None:
        reason = f"{len(matches)} match(es) so far; its rhythm needs {settings.min_history}"
        record = _record(topic, "learning", reason, None, None, latest, query_changed_at)
        return record, None
    quiet = now - latest
    threshold = max(gap * settings.silent_factor, timedelta(seconds=settings.min_silence))
    if quiet <= threshold:
        reason = f"matches {every(gap)}; latest {span(quiet)} ago"
        return _record(topic, "ok", reason, None, gap, latest, query_changed_at), None
    reason = f"no match for {span(quiet)} (matched {every(gap)})"
    hint = _hint(matches, query_changed_at, feeds)
    found = problem("silent", "topic", topic.id, reason, latest, hint=hint)
    return _record(topic, "silent", reason, latest, gap, latest, query_changed_at, hint), found


def _record(
    topic: TopicConfig,
    state: str,
    reason: str,
    since: datetime | None,
    gap: timedelta | None,
    latest: datetime | None,
    query_changed_at: datetime | None,
    hint: str | None = None,
) -> TopicHealth:
    return TopicHealth(
        topic.id, topic.name, state, reason, since, gap, latest, query_changed_at, hint
    )


def _hint(
    matches: Sequence[RecentMatch],
    query_changed_at: datetime | None,
    feeds: Mapping[int, FeedHealth],
) -> str | None:
    hints = []
    last_matched = max(m.matched_at for m in matches)
    if query_changed_at is not None and query_changed_at > last_matched:
        hints.append(
            f"its query changed at {query_changed_at:%Y-%m-%d %H:%M} UTC, after its last match"
        )
    sources = list(dict.fromkeys(m.feed_id for m in matches))  # most recent first
    troubled = [feeds[f] for f in sources if f in feeds and feeds[f].state in TROUBLED]
    if troubled:
        named = ", ".join(f"{f.name} ({f.state})" for f in troubled)
        share = "its feeds" if len(troubled) == len(sources) else "some of its feeds"
        hints.append(f"{share} are in trouble: {named}")
    return "; ".join(hints) or None
