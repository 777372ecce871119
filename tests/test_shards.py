"""Shards: feeds cut by host into a bounded number of groups; one shard polled as a job, crashed
and retried; a run's shards summed up (and failed when nothing could be polled)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import create_engine, func, select
from werkzeug import Response

from pipeline.jobs import PollFailed, poll_shard, summarise_poll
from pipeline.records import FeedSource
from pipeline.shards import LOCAL_FILES, MAX_SHARDS, ShardPolicy, host_of, plan_shards
from pipeline.store.schema import ArticleRow
from tests.feed_farm import feed_body


def sources(per_host: dict[str, int]) -> list[FeedSource]:
    found, number = [], 0
    for host, count in per_host.items():
        for _ in range(count):
            found.append(
                FeedSource(id=number, name=f"feed {number}", url=f"https://{host}/{number}")
            )
            number += 1
    return found


def host_map(shards) -> dict[str, int]:
    """host -> the shard it is in; fails if a host is in two shards."""
    seen: dict[str, int] = {}
    for shard in shards:
        for host in shard.hosts:
            assert host not in seen, f"{host} split across shards {seen[host]} and {shard.index}"
            seen[host] = shard.index
    return seen


def test_every_host_is_in_exactly_one_shard_and_the_shards_are_balanced():
    per_host = {f"news{n}.example": 1 + (n * 37) % 90 for n in range(60)}
    feeds = sources(per_host)
    shards = plan_shards(feeds, ShardPolicy(slots=4))
    assert len(shards) == 4
    where = host_map(shards)
    assert set(where) == set(per_host)
    for shard in shards:  # a shard's feeds are exactly its hosts' feeds
        assert len(shard.feeds) == sum(per_host[h] for h in shard.hosts)
    assert sorted(n for s in shards for n in s.feeds) == sorted(f.name for f in feeds)
    sizes = [len(s.feeds) for s in shards]
    assert max(sizes) - min(sizes) <= max(per_host.values())
    assert plan_shards(list(reversed(feeds)), ShardPolicy(slots=4)) == shards  # deterministic


@pytest.mark.parametrize(
    ("feeds", "hosts", "policy", "expected"),
    [
        (0, 0, ShardPolicy(), 0),
        (30, 10, ShardPolicy(slots=4, min_feeds=100), 1),  # too few feeds to be worth more tasks
        (250, 10, ShardPolicy(slots=4, min_feeds=100), 3),
        (1_500, 40, ShardPolicy(slots=4), 4),  # as many as the pool runs at once
        (1_500, 2, ShardPolicy(slots=4), 2),  # never more shards than hosts
        (10_000_000, 50_000, ShardPolicy(slots=100_000, min_feeds=1, max_shards=10_000), 256),
    ],
)
def test_the_number_of_shards_is_bounded(feeds, hosts, policy, expected):
    assert policy.count(feeds, hosts) == expected
    assert expected <= MAX_SHARDS < 1_024  # Airflow's max_map_length


def test_a_hundred_thousand_feeds_on_five_thousand_hosts():
    feeds = sources({f"h{n}.example": 20 for n in range(5_000)})
    shards = plan_shards(feeds, ShardPolicy(slots=32))
    assert len(shards) == 32
    assert len(host_map(shards)) == 5_000
    assert {len(s.feeds) for s in shards} <= {3_120, 3_140}  # 156 or 157 hosts of 20


def test_a_policy_needs_positive_numbers():
    with pytest.raises(ValueError, match="slots must be at least 1"):
        ShardPolicy(slots=0)


def test_hosts_are_counted_as_the_fetcher_counts_them():
    assert host_of("https://Feeds.BBC.co.uk/news/rss.xml") == "feeds.bbc.co.uk"
    assert host_of("http://127.0.0.2:8080/a") == host_of("http://127.0.0.2:9090/b") == "127.0.0.2"
    assert host_of("feeds/local.xml") == host_of("file:///srv/x.xml") == LOCAL_FILES


def test_a_shard_label_names_its_size_and_hosts():
    [shard] = plan_shards(sources({"a.example": 2, "b.example": 1}), ShardPolicy(min_feeds=10))
    assert shard.label == "shard 0: 3 feeds, 2 hosts (a.example, b.example)"


# -- a run's summary ------------------------------------------------------------------------


def shard_result(feeds: dict[str, str]) -> dict:
    outcomes = [
        {"feed": name, "status": status, "seen": 2, "new": 2 if status == "ok" else 0}
        | {"error": None if status in ("ok", "not_modified") else "HTTP 500"}
        for name, status in feeds.items()
    ]
    return {
        "feeds": len(outcomes),
        "ok": sum(o["status"] == "ok" for o in outcomes),
        "not_modified": sum(o["status"] == "not_modified" for o in outcomes),
        "failed": sum(o["error"] is not None for o in outcomes),
        "not_due": 0,
        "articles_seen": 2 * len(outcomes),
        "new_articles": sum(o["new"] for o in outcomes),
        "outcomes": outcomes,
    }


PLAN = [{"index": 0, "feeds": ["a", "b"]}, {"index": 1, "feeds": ["c"]}]


def test_a_run_with_failing_feeds_is_summed_up_and_names_them():
    summary = summarise_poll(
        PLAN, [shard_result({"a": "ok", "b": "http_5xx"}), shard_result({"c": "not_modified"})]
    )
    assert summary["feeds"] == 3 and summary["new_articles"] == 2 and summary["failed"] == 1
    assert summary["failing_feeds"] == [{"feed": "b", "status": "http_5xx", "error": "HTTP 500"}]
    assert summary["failed_shards"] == 0


def test_a_failed_shard_is_reported_while_the_others_count(caplog):
    summary = summarise_poll(PLAN, [shard_result({"a": "ok", "b": "ok"}), None])
    assert summary["failed_shards"] == 1 and summary["new_articles"] == 4
    assert "1 of 2 shard(s) failed" in caplog.text


def test_no_plan_or_no_shard_done_is_a_failed_poll():
    with pytest.raises(PollFailed, match="list of due feeds could not be made"):
        summarise_poll(None, [])
    with pytest.raises(PollFailed, match="every shard failed"):
        summarise_poll(PLAN, [None, None])
    assert summarise_poll([], [])["feeds"] == 0  # nothing due is not a failure


# -- one shard as a job: crash and retry ---------------------------------------------------


def stored(database_url: str) -> Counter:
    """Articles per GUID: any count above one would be an article stored twice."""
    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as connection:
        rows = connection.execute(select(ArticleRow.guid, func.count()).group_by(ArticleRow.guid))
        counts = Counter(dict(rows.all()))
    engine.dispose()
    return counts


def test_a_shard_killed_mid_poll_and_retried_stores_everything_once(
    tmp_path, feed_server, database_url, engine
):
    """A shard process is SIGKILLed while one feed hangs; the retry polls only that feed."""
    release = threading.Event()
    hung = threading.Event()

    def hanging(request):
        hung.set()
        release.wait(60)
        return Response(feed_body(9, 4), content_type="application/rss+xml")

    for n in range(3):
        feed_server.feed(f"/desk{n}", feed_body(n, 4))
    feed_server.handler("/slow", hanging)
    names = ["Desk 0", "Desk 1", "Desk 2", "Slow desk"]
    paths = ["/desk0", "/desk1", "/desk2", "/slow"]
    config = tmp_path / "newswatch.yaml"
    config.write_text(
        "feeds:\n"
        + "".join(
            f"  - {{name: {n}, url: '{feed_server.url(p)}'}}\n"
            for n, p in zip(names, paths, strict=True)
        )
    )
    code = (
        "import sys; from pipeline.jobs import poll_shard; poll_shard(*sys.argv[1:3], sys.argv[3:])"
    )
    attempt = subprocess.Popen(
        [sys.executable, "-c", code, str(config), database_url, *names],
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while not (hung.is_set() and sum(stored(database_url).values()) == 12):
            assert attempt.poll() is None, "the first attempt ended before it could be killed"
            assert time.monotonic() < deadline, "the first attempt did not store the three feeds"
            time.sleep(0.2)
        os.killpg(attempt.pid, signal.SIGKILL)  # as the OOM killer or a lost worker would
        attempt.wait(30)
    finally:
        if attempt.poll() is None:
            os.killpg(attempt.pid, signal.SIGKILL)
            attempt.wait(30)
        release.set()

    retry = poll_shard(str(config), database_url, names)
    assert retry["feeds"] == 1 and retry["not_due"] == 3 and retry["new_articles"] == 4
    assert [o["feed"] for o in retry["outcomes"]] == ["Slow desk"]
    counts = stored(database_url)
    assert len(counts) == 16 and set(counts.values()) == {1}
    assert [len(feed_server.hits(p)) for p in paths] == [1, 1, 1, 2]
