"""One health check over every configured feed and enabled topic.

Reads are bounded: the feeds table, at most `sample` publication times per feed and `sample`
matches per topic, each an index range. A million stored articles cost what a hundred do.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from ..config import Config
from ..store import health as health_store
from .feeds import judge_feed
from .records import FeedHealth, HealthReport, Problem, TopicHealth
from .topics import judge_topic, query_fingerprint


def check_health(
    session: Engine, config: Config, now: datetime | None = None, *, record: bool = True
) -> HealthReport:
    """Judge every configured feed and enabled topic as of `now` (default: the current time).

    With `record` (the default) it also stores each topic's query fingerprint, so a later
    check can tell a topic that went silent after its query was edited; the read-only web
    page looks without storing.
    """
    now = now or datetime.now(UTC)
    settings = config.health
    topics = [t for t in config.topics if t.enabled]
    fingerprints = {t.id: query_fingerprint(t, config.term_lists) for t in topics}
    changed_at = health_store.remember_queries(session, fingerprints, now, write=record)
    with session.connect() as connection:
        states = {
            s.name: s for s in health_store.feed_states(connection, [f.name for f in config.feeds])
        }
        times = health_store.publication_times(
            connection, [s.id for s in states.values()], now, settings.sample
        )
        matches = health_store.recent_matches(connection, [t.id for t in topics], settings.sample)
    carried: dict[int | None, list[str]] = {}  # feed id -> topics whose latest match it published
    for topic in topics:
        if matches[topic.id]:
            carried.setdefault(matches[topic.id][0].feed_id, []).append(topic.id)
    feeds: list[FeedHealth] = []
    by_id: dict[int, FeedHealth] = {}
    for feed in config.feeds:
        state = states.get(feed.name)
        feed_id = state.id if state else None
        judged = judge_feed(
            feed, state, times.get(feed_id, []), tuple(carried.get(feed_id, ())), settings, now
        )
        feeds.append(judged)
        if feed_id is not None:
            by_id[feed_id] = judged
    topic_records: list[TopicHealth] = []
    problems: list[Problem] = [p for f in feeds for p in f.problems]
    for topic in topics:
        topic_health, found = judge_topic(
            topic, matches[topic.id], changed_at.get(topic.id), by_id, settings, now
        )
        topic_records.append(topic_health)
        if found is not None:
            problems.append(found)
    return HealthReport(now, tuple(problems), tuple(feeds), tuple(topic_records))
