"""Feed freshness and topic silence, each against its own rhythm: feeds published hourly,
daily, weekly (and every minute but polled hourly) are served over HTTP, polled, and then
judged at chosen moments (an injected `now`), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from pipeline.config import FeedConfig
from pipeline.health import check_health
from pipeline.health.rhythm import span, typical_gap
from pipeline.poll import poll
from pipeline.score import score_with
from tests.health_feeds import DAY, HOUR, WEEK, config_with, document, latest_publication, rss

RHYTHMS = {
    "hourly": (HOUR, 40, 900.0),
    "daily": (DAY, 30, 900.0),
    "weekly": (WEEK, 20, 900.0),
    # Publishes every minute but is polled hourly: the poll interval is the floor.
    "minutely": (timedelta(minutes=1), 40, 3600.0),
}


@pytest.fixture
def rhythms(engine, feed_server):
    last = latest_publication()
    feeds = []
    for name, (gap, items, interval) in RHYTHMS.items():
        feed_server.feed(f"/{name}", rss(name, last, gap, items))
        feeds.append(FeedConfig(name=name, url=feed_server.url(f"/{name}"), poll_interval=interval))
    config = config_with(feeds)
    assert poll(engine, config).failed == 0
    return config, last


def states(report) -> dict[str, str]:
    return {f.name: f.state for f in report.feeds}


@pytest.mark.parametrize("name", ["hourly", "daily", "weekly"])
def test_each_feed_goes_stale_after_four_of_its_own_gaps(engine, rhythms, name):
    config, last = rhythms
    gap = RHYTHMS[name][0]
    before = check_health(engine, config, now=last + 4 * gap - timedelta(minutes=1))
    after = check_health(engine, config, now=last + 4 * gap + timedelta(minutes=1))
    assert states(before)[name] == "ok"
    assert states(after)[name] == "stale"
    (stale,) = [p for p in after.problems if p.subject == name]
    assert (stale.kind, stale.subject_kind, stale.since) == ("stale", "feed", last)
    assert stale.key == f"stale:feed:{name}:{last:%Y-%m-%dT%H:%M}"
    usually = {"hourly": "1h", "daily": "1d", "weekly": "7d"}[name]
    assert stale.reason.endswith(f"(usually every {usually})")
    feed = next(f for f in after.feeds if f.name == name)
    assert feed.typical_gap == gap and feed.since == last and feed.last_item_at == last


def test_a_weekly_feed_is_not_stale_after_a_quiet_day_but_an_hourly_one_is(engine, rhythms):
    config, last = rhythms
    report = check_health(engine, config, now=last + DAY + HOUR)
    assert states(report) == {
        "hourly": "stale",
        "daily": "ok",
        "weekly": "ok",
        "minutely": "stale",
    }
    assert {p.subject for p in report.problems} == {"hourly", "minutely"}


def test_a_feed_is_never_stale_within_two_of_its_poll_intervals(engine, rhythms):
    config, last = rhythms
    # Four of its one-minute gaps have long passed, but it is polled hourly.
    assert (
        states(check_health(engine, config, now=last + 119 * timedelta(minutes=1)))["minutely"]
        == "ok"
    )
    later = check_health(engine, config, now=last + 121 * timedelta(minutes=1))
    assert states(later)["minutely"] == "stale"


def test_the_factor_and_floor_are_configurable(engine, rhythms):
    config, last = rhythms
    stricter = config.model_copy(
        update={"health": config.health.model_copy(update={"stale_factor": 2.0})}
    )
    assert states(check_health(engine, config, now=last + 3 * DAY))["daily"] == "ok"
    assert states(check_health(engine, stricter, now=last + 3 * DAY))["daily"] == "stale"


def test_a_stale_episode_keeps_its_key_and_ends_when_something_new_arrives(
    engine, rhythms, feed_server
):
    config, last = rhythms
    first = check_health(engine, config, now=last + 5 * HOUR)
    again = check_health(engine, config, now=last + 9 * HOUR)
    key = next(p.key for p in first.problems if p.subject == "hourly")
    assert key == next(p.key for p in again.problems if p.subject == "hourly")
    feed_server.server.clear()
    feed_server.feed("/hourly", rss("hourly", last + 2 * HOUR, HOUR, 40))
    poll(engine, config, force=True, names=["hourly"])
    fresh = check_health(engine, config, now=last + 3 * HOUR)
    assert states(fresh)["hourly"] == "ok"


def test_a_feed_with_too_few_items_is_learning_not_stale(engine, feed_server):
    last = latest_publication()
    feed_server.feed("/young", rss("young", last, DAY, 3))
    config = config_with([FeedConfig(name="young", url=feed_server.url("/young"))])
    poll(engine, config)
    report = check_health(engine, config, now=last + 60 * DAY)
    (young,) = report.feeds
    assert young.state == "learning" and "3 publication(s) so far" in young.reason
    assert report.problems == ()


def test_a_feed_never_fetched_is_new(engine):
    config = config_with([FeedConfig(name="unseen", url="https://unseen.example/rss")])
    (unseen,) = check_health(engine, config).feeds
    assert (unseen.state, unseen.reason) == ("new", "never fetched yet")


HARBOUR = {"id": "harbour", "name": "Harbour", "query": "harbour", "threshold": 0.1}


def test_a_silent_topic_points_at_its_stale_feed(engine, feed_server):
    last = latest_publication()
    feed_server.feed("/port", rss("port", last, DAY, 12, words="harbour strike"))
    config = config_with([FeedConfig(name="port", url=feed_server.url("/port"))], [HARBOUR])
    poll(engine, config)
    assert score_with(engine, config).new_matches == 12
    quiet = check_health(engine, config, now=last + 5 * DAY)
    harbour = quiet.topics[0]
    assert (harbour.state, harbour.typical_gap) == ("ok", DAY)
    # The daily feed is stale after four days; its topic keeps the last match's feed.
    (stale,) = quiet.problems
    assert (stale.kind, stale.topic_ids) == ("stale", ("harbour",))

    silent_report = check_health(engine, config, now=last + 6 * DAY + HOUR)
    silent = next(p for p in silent_report.problems if p.kind == "silent")
    assert (silent.subject_kind, silent.subject, silent.since) == ("topic", "harbour", last)
    assert silent.reason == "no match for 6d 1h (matched usually every 1d)"
    assert silent.hint == "its feeds are in trouble: port (stale)"


def test_a_silent_topic_whose_query_changed_says_so(engine, feed_server):
    last = latest_publication()
    # Twelve days of harbour news, then eight of budgets: the feed is fine, the topic silent.
    items = [(last - day * DAY, "council budget") for day in range(8)]
    items += [(last - (8 + day) * DAY, "harbour strike") for day in range(12)]
    feed_server.feed("/port", document("port", items))
    config = config_with([FeedConfig(name="port", url=feed_server.url("/port"))], [HARBOUR])
    poll(engine, config)
    score_with(engine, config)
    before = check_health(engine, config, now=last + HOUR)
    assert before.topics[0].state == "silent" and before.topics[0].hint is None
    assert [f.state for f in before.feeds] == ["ok"]

    edited = config.model_copy(
        update={"topics": [config.topics[0].model_copy(update={"query": "harbour OR port"})]}
    )
    after = check_health(engine, edited, now=last + 2 * HOUR)
    (silent,) = after.problems
    assert silent.hint == (
        f"its query changed at {last + 2 * HOUR:%Y-%m-%d %H:%M} UTC, after its last match"
    )
    # Renaming a topic is not a change of what it matches.
    renamed = edited.model_copy(
        update={"topics": [edited.topics[0].model_copy(update={"name": "Ports"})]}
    )
    assert check_health(engine, renamed, now=last + 3 * HOUR).topics[0].query_changed_at == (
        last + 2 * HOUR
    )


def test_a_topic_with_too_few_matches_is_learning_not_silent(engine, feed_server):
    last = latest_publication()
    feed_server.feed("/port", rss("port", last, DAY, 3, words="harbour strike"))
    config = config_with([FeedConfig(name="port", url=feed_server.url("/port"))], [HARBOUR])
    poll(engine, config)
    score_with(engine, config)
    report = check_health(engine, config, now=last + 90 * DAY)
    (harbour,) = report.topics
    assert harbour.state == "learning" and "3 match(es) so far" in harbour.reason
    assert [p.kind for p in report.problems] == []  # three items: the feed is learning too


def test_the_typical_gap_ignores_duplicates_bursts_and_a_holiday():
    start = latest_publication()
    hourly = [start - n * HOUR for n in range(20)]
    burst = [start + timedelta(seconds=s) for s in range(0, 50, 5)]  # ten in one minute
    holiday = [start - 20 * HOUR - 9 * DAY]
    assert typical_gap(hourly + hourly + burst + holiday, min_history=5) == HOUR
    assert typical_gap(burst, min_history=5) is None
    assert typical_gap(hourly[:4], min_history=5) is None
    assert span(3 * DAY + 4 * HOUR) == "3d 4h" and span(timedelta(minutes=90)) == "1h 30m"
