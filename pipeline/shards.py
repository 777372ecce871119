"""Split a poll's due feeds into a bounded number of shards, never splitting a host.

A scheduler pays seconds of process start and bookkeeping for every task it runs, so one task
per feed is slow (and Airflow refuses to map more than `max_map_length`, 1,024, tasks). A shard
is a group of feeds that one task polls concurrently with `poll`, exactly as `newswatch poll`
does. `fetch.per_host` is enforced inside one process, so it holds across a whole run only when
every feed of a host is in the same shard: shards are cut by host.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from math import ceil
from urllib.parse import urlsplit

from .fetch import is_local
from .records import FeedSource

# Far below Airflow's max_map_length (1,024), whatever the configuration says.
MAX_SHARDS = 256
LOCAL_FILES = "(local files)"


@dataclass(frozen=True, slots=True)
class ShardPolicy:
    """How many shards a poll is cut into.

    `slots`: shard tasks that run at once (the slots of the pool the shard tasks use); more
    shards than that would only queue and pay their start-up in turn. `min_feeds`: fewer feeds
    than this in a shard are not worth a task's start-up (seconds, against ~15 ms of work per
    feed), so small polls use fewer shards. `max_shards` caps the count (at most MAX_SHARDS).
    """

    slots: int = 4
    min_feeds: int = 100
    max_shards: int = 64

    def __post_init__(self) -> None:
        for name in ("slots", "min_feeds", "max_shards"):
            if getattr(self, name) < 1:
                raise ValueError(f"shard policy: {name} must be at least 1")

    def count(self, feeds: int, hosts: int) -> int:
        """The number of shards for this many due feeds on this many hosts."""
        if feeds == 0:
            return 0
        wanted = min(self.slots, self.max_shards, MAX_SHARDS, ceil(feeds / self.min_feeds))
        return max(1, min(wanted, hosts))


@dataclass(frozen=True, slots=True)
class Shard:
    """The feeds (by name) one task polls, and the hosts they are on."""

    index: int
    feeds: tuple[str, ...]
    hosts: tuple[str, ...]

    @property
    def label(self) -> str:
        """A short name for logs and task lists: 'shard 2: 250 feeds, 3 hosts (a, b, c)'."""
        shown = ", ".join(self.hosts[:3]) + (", ..." if len(self.hosts) > 3 else "")
        return (
            f"shard {self.index}: {len(self.feeds):,} feed{'s' * (len(self.feeds) != 1)}, "
            f"{len(self.hosts)} host{'s' * (len(self.hosts) != 1)} ({shown})"
        )


def host_of(url: str) -> str:
    """The politeness key of a feed URL: its host name, as `fetch.per_host` counts it (the
    port does not make another host). Local files share one key."""
    if is_local(url):
        return LOCAL_FILES
    return (urlsplit(url).hostname or "").lower()


def plan_shards(sources: Sequence[FeedSource], policy: ShardPolicy | None = None) -> list[Shard]:
    """Cut the feeds into at most `policy.count(...)` shards of nearly equal size, each host's
    feeds kept together: hosts largest first, each to the shard with the fewest feeds so far.
    The same feeds always give the same shards."""
    policy = policy or ShardPolicy()
    by_host: dict[str, list[str]] = {}
    for source in sources:
        by_host.setdefault(host_of(source.url), []).append(source.name)
    count = policy.count(len(sources), len(by_host))
    # (feeds so far, index) for each shard; the smallest comes off the heap first.
    loads = [(0, index) for index in range(count)]
    members: list[list[str]] = [[] for _ in range(count)]
    hosts: list[list[str]] = [[] for _ in range(count)]
    for host in sorted(by_host, key=lambda h: (-len(by_host[h]), h)):
        size, index = heapq.heappop(loads)
        members[index] += sorted(by_host[host])
        hosts[index].append(host)
        heapq.heappush(loads, (size + len(by_host[host]), index))
    # count <= the number of hosts, so every shard got at least one host.
    return [
        Shard(index=index, feeds=tuple(members[index]), hosts=tuple(hosts[index]))
        for index in range(count)
    ]
